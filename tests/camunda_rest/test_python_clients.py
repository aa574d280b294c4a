"""Camunda 7 clients from PyPI work against a live server unchanged: the external-task worker
camunda-external-task-client-python3 and the REST client pycamunda."""

import pytest
from django.contrib.auth.models import Permission

from processes import services
from processes.models import Incident, ProcessInstance
from tasks.models import HumanTask

from ..processes.factories import bpmn, chain, deploy_one
from .diagrams import CHARGE

pytestmark = pytest.mark.slow

CONFIG = {"auth_basic": {"username": "worker", "password": "pw-worker"}, "asyncResponseTimeout": 2000, "maxTasks": 5}


@pytest.fixture
def worker_user(django_user_model):
    user = django_user_model.objects.create_user("worker", password="pw-worker")
    codenames = ["change_processinstance", "view_processinstance", "start_instance", "view_processdefinition"]
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return user


def _handle(task):
    amount = task.get_variable("amount")
    if amount == 1:
        return task.complete({"charged": True, "note": "paid"})
    if amount == 2:
        return task.failure("card service down", "timeout", max_retries=1, retry_timeout=0)
    return task.bpmn_error("card-declined", "declined by bank", {"reason": "stolen"})


@pytest.mark.django_db(transaction=True)
def test_the_python_worker_completes_fails_into_an_incident_and_throws_a_bpmn_error(live_server, worker_user):
    from camunda.external_task.external_task_worker import ExternalTaskWorker

    definition = deploy_one(CHARGE)
    paid, failing, declined = (
        services.instance_start(definition=definition, variables={"amount": amount, "priority": 1})
        for amount in (1, 2, 3)
    )
    worker = ExternalTaskWorker("python-worker", f"{live_server.url}/engine-rest", CONFIG)
    worker.fetch_and_execute("charge-card", _handle)  # the three tasks
    worker.fetch_and_execute("charge-card", _handle)  # the failed one again, with its last retry
    paid.refresh_from_db()
    assert paid.variables["charged"] is True and paid.variables["note"] == "paid"
    assert list(paid.waiting_steps.values_list("element_id", flat=True)) == ["ship"]
    declined.refresh_from_db()
    assert list(declined.waiting_steps.values_list("element_id", flat=True)) == ["review"]
    assert Incident.objects.get(instance=failing).message == "card service down"


@pytest.mark.django_db(transaction=True)
def test_pycamunda_starts_queries_and_completes_a_task(live_server, worker_user):
    import pycamunda.processdef
    import pycamunda.processinst
    import pycamunda.task
    import requests

    worker_user.user_permissions.add(*Permission.objects.filter(codename__in=["view_humantask", "change_humantask"]))
    worker_user.is_superuser = True  # the task rules: an administrator may complete any task
    worker_user.save()
    deploy_one(bpmn("approve", chain('<bpmn:userTask id="approve_it" name="Approve it"/>')))
    url = f"{live_server.url}/engine-rest"
    session = requests.Session()
    session.auth = ("worker", "pw-worker")

    start = pycamunda.processdef.StartInstance(url=url, key="approve", business_key="PO-7")
    start.add_variable(name="amount", value=42)
    start.session = session
    instance = start()
    assert instance.business_key == "PO-7"

    get_list = pycamunda.task.GetList(url=url, process_instance_id=instance.id_)
    get_list.session = session
    [task] = get_list()
    assert task.name == "Approve it" and task.task_definition_key == "approve_it"

    complete = pycamunda.task.Complete(url=url, id_=task.id_)
    complete.add_variable(name="approved", value=True)
    complete.session = session
    complete()
    stored = ProcessInstance.objects.get(pk=int(instance.id_))
    assert stored.status == "completed" and stored.variables["approved"] is True
    assert HumanTask.objects.get(pk=int(task.id_)).status == "completed"

    instances = pycamunda.processinst.GetList(url=url, business_key="PO-7")
    instances.session = session
    assert list(instances()) == []  # ended instances leave the runtime query, as in Camunda
