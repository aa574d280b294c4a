"""The external-task worker protocol of /engine-rest, as Camunda 7 answers it."""

import pytest
from rest_framework.test import APIClient

from processes import services
from processes.models import Incident

from ..processes.factories import deploy_one
from .diagrams import CHARGE

pytestmark = pytest.mark.django_db
REST = "/engine-rest"


@pytest.fixture
def client(admin_user):
    client = APIClient()
    client.force_authenticate(admin_user)
    return client


def _start(amount=50, key=""):
    variables = {"amount": amount, "priority": 10 if amount > 100 else 1}
    return services.instance_start(definition=deploy_one(CHARGE), variables=variables, business_key=key)


def _fetch(client, worker="w1", **extra):
    body = {"workerId": worker, "maxTasks": 5, "topics": [{"topicName": "charge-card", "lockDuration": 10000}], **extra}
    response = client.post(f"{REST}/external-task/fetchAndLock", body, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def test_a_worker_fetches_and_locks_a_task_with_its_variables_in_camundas_shape(client):
    instance = _start(amount=50, key="ORDER-1")
    [task] = _fetch(client)
    assert task["topicName"] == "charge-card" and task["workerId"] == "w1"
    assert task["activityId"] == "charge_card" and task["processInstanceId"] == str(instance.pk)
    assert task["businessKey"] == "ORDER-1" and task["processDefinitionKey"] == "charge"
    assert task["variables"]["amount"] == {"value": 50, "type": "Integer", "valueInfo": {}}
    assert task["lockExpirationTime"].endswith("+0000")
    assert _fetch(client, worker="w2") == []  # locked


def test_completing_moves_the_instance_on_with_the_typed_variables(client):
    instance = _start()
    [task] = _fetch(client)
    body = {"workerId": "w1", "variables": {"charged": {"value": "true", "type": "Boolean"}}}
    response = client.post(f"{REST}/external-task/{task['id']}/complete", body, format="json")
    assert response.status_code == 204, response.content
    instance.refresh_from_db()
    assert instance.variables["charged"] is True
    assert list(instance.waiting_steps.values_list("element_id", flat=True)) == ["ship"]


def test_another_worker_cannot_complete_a_locked_task(client):
    _start()
    [task] = _fetch(client)
    response = client.post(f"{REST}/external-task/{task['id']}/complete", {"workerId": "w2"}, format="json")
    assert response.status_code == 400
    assert response.json()["type"] == "BadUserRequestException"
    assert "locked by worker w1" in response.json()["message"]


def test_a_failure_with_retries_left_offers_the_task_again_after_the_timeout(client):
    _start()
    [task] = _fetch(client)
    body = {"workerId": "w1", "errorMessage": "card service down", "retries": 2, "retryTimeout": 0}
    assert client.post(f"{REST}/external-task/{task['id']}/failure", body, format="json").status_code == 204
    [again] = _fetch(client, worker="w2")
    assert again["retries"] == 2 and again["errorMessage"] == "card service down"


def test_a_failure_with_no_retries_left_raises_an_incident_and_the_task_is_not_offered(client):
    instance = _start()
    [task] = _fetch(client)
    body = {"workerId": "w1", "errorMessage": "card service down", "errorDetails": "trace", "retries": 0}
    assert client.post(f"{REST}/external-task/{task['id']}/failure", body, format="json").status_code == 204
    assert _fetch(client) == []
    incident = Incident.objects.get(instance=instance)
    assert incident.element_id == "charge_card" and incident.message == "card service down"
    assert client.get(f"{REST}/external-task/{task['id']}/errorDetails").json() == "trace"
    # setting retries resolves the incident and offers the task again
    assert client.put(f"{REST}/external-task/{task['id']}/retries", {"retries": 1}, format="json").status_code == 204
    incident.refresh_from_db()
    assert incident.resolved_at is not None
    assert len(_fetch(client)) == 1


def test_a_bpmn_error_is_caught_by_the_boundary_event(client):
    instance = _start()
    [task] = _fetch(client)
    body = {
        "workerId": "w1",
        "errorCode": "card-declined",
        "variables": {"reason": {"value": "stolen", "type": "String"}},
    }
    assert client.post(f"{REST}/external-task/{task['id']}/bpmnError", body, format="json").status_code == 204
    instance.refresh_from_db()
    assert list(instance.waiting_steps.values_list("element_id", flat=True)) == ["review"]
    assert instance.variables["reason"] == "stolen"


def test_a_bpmn_error_nothing_catches_changes_nothing_and_says_so(client):
    instance = _start()
    [task] = _fetch(client)
    body = {"workerId": "w1", "errorCode": "unknown-code", "variables": {"reason": {"value": "x", "type": "String"}}}
    response = client.post(f"{REST}/external-task/{task['id']}/bpmnError", body, format="json")
    assert response.status_code == 400 and "unknown-code" in response.json()["message"]
    instance.refresh_from_db()
    assert "reason" not in instance.variables
    assert list(instance.waiting_steps.values_list("element_id", flat=True)) == ["charge_card"]


def test_higher_priority_tasks_come_first_when_the_worker_asks(client):
    _start(amount=50)
    big = _start(amount=500)
    tasks = _fetch(client, maxTasks=1, usePriority=True)
    assert [t["processInstanceId"] for t in tasks] == [str(big.pk)] and tasks[0]["priority"] == 10


def test_an_expired_lock_is_free_for_another_worker_and_the_old_worker_cannot_complete(client):
    _start()
    body = {"workerId": "w1", "maxTasks": 1, "topics": [{"topicName": "charge-card", "lockDuration": 0}]}
    [task] = client.post(f"{REST}/external-task/fetchAndLock", body, format="json").json()
    [again] = _fetch(client, worker="w2")
    assert again["id"] == task["id"] and again["workerId"] == "w2"
    response = client.post(f"{REST}/external-task/{task['id']}/complete", {"workerId": "w1"}, format="json")
    assert response.status_code == 400


def test_extend_lock_and_unlock(client):
    _start()
    [task] = _fetch(client)
    response = client.post(
        f"{REST}/external-task/{task['id']}/extendLock", {"workerId": "w1", "newDuration": 60000}, format="json"
    )
    assert response.status_code == 204
    assert client.post(f"{REST}/external-task/{task['id']}/unlock").status_code == 204
    assert len(_fetch(client, worker="w2")) == 1


def test_listing_and_counting_external_tasks(client):
    _start()
    _start()
    assert client.get(f"{REST}/external-task/count?topicName=charge-card").json() == {"count": 2}
    listed = client.get(f"{REST}/external-task?topicName=charge-card&maxResults=1").json()
    assert len(listed) == 1 and listed[0]["topicName"] == "charge-card"
    assert client.get(f"{REST}/external-task/{listed[0]['id']}").json()["id"] == listed[0]["id"]
    assert client.get(f"{REST}/external-task/nope").status_code == 404


def test_a_person_without_rights_over_the_process_sees_no_external_tasks(django_user_model):
    _start()
    stranger = django_user_model.objects.create_user("stranger")
    client = APIClient()
    client.force_authenticate(stranger)
    assert _fetch(client) == []


def test_an_expression_that_cannot_run_in_a_task_priority_is_refused_at_deploy():
    from processes.exceptions import DefinitionInvalidError

    from ..processes.factories import bpmn, chain

    diagram = bpmn(
        "bad_priority",
        chain(
            '<bpmn:serviceTask id="t" camunda:type="external" camunda:topic="x" camunda:taskPriority="${a ? 1 : 2}"/>'
        ),
    )
    with pytest.raises(DefinitionInvalidError) as refused:
        deploy_one(diagram)
    assert "taskPriority" in str(refused.value) and refused.value.details[0]["element_id"] == "t"


def test_a_value_that_is_no_number_gets_a_400_naming_the_field(client):
    body = {"workerId": "w1", "maxTasks": "many", "topics": [{"topicName": "charge-card", "lockDuration": 1000}]}
    response = client.post(f"{REST}/external-task/fetchAndLock", body, format="json")
    assert response.status_code == 400 and "maxTasks" in response.json()["message"]
