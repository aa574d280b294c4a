"""Camunda's Node external-task client (camunda-external-task-client-js) works against a live
server unchanged: it long-polls, completes, fails into an incident and throws a BPMN error."""

import json
import subprocess
import time

import pytest
from django.contrib.auth.models import Permission

from camunda_rest import longpoll
from processes import services
from processes.models import Incident, ProcessInstance

from ..processes.factories import deploy_one
from .clients import CLIENTS, NODE, needs_node_client
from .diagrams import CHARGE

pytestmark = [pytest.mark.slow, needs_node_client]


def _worker_user(django_user_model):
    user = django_user_model.objects.create_user("worker", password="pw-worker")
    user.user_permissions.add(
        *Permission.objects.filter(codename__in=["change_processinstance", "view_processinstance"])
    )
    return user


def _wait_for(condition, seconds=20):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


@pytest.mark.django_db(transaction=True)
def test_camundas_node_worker_completes_fails_into_an_incident_and_throws_a_bpmn_error(live_server, django_user_model):
    _worker_user(django_user_model)
    definition = deploy_one(CHARGE)
    worker = subprocess.Popen(
        [NODE, str(CLIENTS / "node_worker.mjs"), f"{live_server.url}/engine-rest", "worker", "pw-worker"],
        cwd=CLIENTS,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(1.0)  # the worker is now waiting in a long poll: the tasks reach it as they are created
        paid, failing, declined = (
            services.instance_start(definition=definition, variables={"amount": amount, "priority": 1})
            for amount in (1, 2, 3)
        )
        assert _wait_for(
            lambda: (
                list(ProcessInstance.objects.get(pk=paid.pk).waiting_steps.values_list("element_id", flat=True))
                == ["ship"]
            )
        )
        assert _wait_for(lambda: Incident.objects.filter(instance=failing).exists())
        assert _wait_for(
            lambda: (
                list(ProcessInstance.objects.get(pk=declined.pk).waiting_steps.values_list("element_id", flat=True))
                == ["review"]
            )
        )
    finally:
        worker.terminate()
        out, err = worker.communicate(timeout=10)
        # the server still holds the killed worker's last long poll; were it answered with the
        # next test's tasks, they would stay locked by a worker that is gone
        assert _wait_for(lambda: longpoll.waiting_count() == 0, seconds=10)
    actions = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert not [a for a in actions if a["action"] == "error"], (actions, err)
    # the first failure leaves one retry; the second (whose report line the kill may cut) none
    assert [a["retries"] for a in actions if a["action"] == "failure"][:1] == [1]
    assert failing.waiting_steps.get().retries == 0
    paid.refresh_from_db()
    assert paid.variables["charged"] is True and paid.variables["receipt"] == {"number": "R-1", "lines": 2}
    declined.refresh_from_db()
    assert declined.variables["reason"] == "stolen"
    incident = Incident.objects.get(instance=failing)
    assert incident.message == "card service down" and incident.element_id == "charge_card"
