"""/engine-rest history (process, activity and task instances, variables) and decision
definitions, in Camunda's shapes."""

from pathlib import Path

import pytest
from rest_framework.test import APIClient

from processes import services
from tasks.models import HumanTask

from ..processes.factories import bpmn, chain, deploy

pytestmark = pytest.mark.django_db
REST = "/engine-rest"
REVIEW = bpmn(
    "review",
    chain(
        '<bpmn:scriptTask id="score" name="Score" scriptFormat="python"><bpmn:script>points = 3</bpmn:script>'
        "</bpmn:scriptTask>",
        '<bpmn:userTask id="check" name="Check" camunda:assignee="admin"/>',
    ),
)
INVOICE_DMN = Path(__file__).parents[1] / "camunda_models" / "invoice" / "invoiceBusinessDecisions.dmn"


@pytest.fixture
def client(admin_user):
    client = APIClient()
    client.force_authenticate(admin_user)
    return client


def _get(client, url) -> list | dict:
    response = client.get(f"{REST}{url}")
    assert response.status_code == 200, response.content
    return response.json()


def _complete_task(client, instance) -> None:
    task = HumanTask.objects.get(instance=instance)
    assert client.post(f"{REST}/task/{task.pk}/complete", {}, format="json").status_code == 204


def test_historic_process_instances_list_running_and_ended_instances_with_their_state(client):
    definition = deploy(REVIEW).created[0]
    done = services.instance_start(definition=definition, business_key="A-1")
    running = services.instance_start(definition=definition, business_key="A-2")
    cancelled = services.instance_start(definition=definition)
    _complete_task(client, done)
    services.instance_cancel(instance_id=cancelled.pk, reason="duplicate order")
    rows = {r["id"]: r for r in _get(client, "/history/process-instance?processDefinitionKey=review")}
    assert rows[str(done.pk)]["state"] == "COMPLETED" and rows[str(done.pk)]["durationInMillis"] >= 0
    assert rows[str(done.pk)]["startActivityId"] == "start" and rows[str(done.pk)]["businessKey"] == "A-1"
    assert rows[str(running.pk)]["state"] == "ACTIVE" and rows[str(running.pk)]["endTime"] is None
    assert rows[str(cancelled.pk)]["state"] == "EXTERNALLY_TERMINATED"
    assert rows[str(cancelled.pk)]["deleteReason"] == "duplicate order"
    assert _get(client, "/history/process-instance/count?finished=true") == {"count": 2}
    assert [r["id"] for r in _get(client, "/history/process-instance?unfinished=true")] == [str(running.pk)]
    assert _get(client, f"/history/process-instance/{done.pk}")["processDefinitionVersion"] == 1


def test_a_historic_process_query_is_also_taken_as_a_post_body(client):
    definition = deploy(REVIEW).created[0]
    first = services.instance_start(definition=definition, business_key="B-1")
    services.instance_start(definition=definition, business_key="B-2")
    response = client.post(
        f"{REST}/history/process-instance",
        {"processInstanceBusinessKeyLike": "B-%", "sortBy": "businessKey", "sortOrder": "desc"},
        format="json",
    )
    assert [r["businessKey"] for r in response.json()] == ["B-2", "B-1"]
    assert client.post(
        f"{REST}/history/process-instance/count", {"processInstanceIds": [first.pk]}, format="json"
    ).json() == {"count": 1}


def test_activity_instances_pair_a_waiting_steps_entry_with_its_completion(client):
    instance = services.instance_start(definition=deploy(REVIEW).created[0])
    waiting = _get(client, f"/history/activity-instance?processInstanceId={instance.pk}&unfinished=true")
    assert [(a["activityId"], a["activityType"], a["endTime"]) for a in waiting] == [("check", "userTask", None)]
    task = HumanTask.objects.get(instance=instance)
    assert waiting[0]["taskId"] == str(task.pk) and waiting[0]["assignee"] == "admin"
    _complete_task(client, instance)
    rows = _get(client, f"/history/activity-instance?processInstanceId={instance.pk}&sortBy=startTime")
    assert [(a["activityId"], a["activityType"]) for a in rows] == [
        ("start", "startEvent"),
        ("score", "scriptTask"),
        ("check", "userTask"),
        ("end", "noneEndEvent"),
    ]
    check = rows[2]
    assert check["id"] == waiting[0]["id"] and check["endTime"] and check["durationInMillis"] >= 0
    assert _get(client, f"/history/activity-instance/{check['id']}")["taskId"] == str(task.pk)
    assert _get(client, f"/history/activity-instance/count?processInstanceId={instance.pk}") == {"count": 4}


def test_an_activity_open_when_its_instance_was_cancelled_is_reported_cancelled(client):
    instance = services.instance_start(definition=deploy(REVIEW).created[0])
    services.instance_cancel(instance_id=instance.pk, reason="stop")
    rows = _get(client, f"/history/activity-instance?processInstanceId={instance.pk}&activityId=check")
    assert rows[0]["canceled"] is True and rows[0]["endTime"] is not None


def test_historic_tasks_show_who_completed_what_and_when(client):
    definition = deploy(REVIEW).created[0]
    done, open_one = (services.instance_start(definition=definition) for _ in range(2))
    _complete_task(client, done)
    finished = _get(client, "/history/task?finished=true")
    assert [(t["processInstanceId"], t["assignee"], t["deleteReason"], t["taskState"]) for t in finished] == [
        (str(done.pk), "admin", "completed", "Completed")
    ]
    assert finished[0]["endTime"] and finished[0]["duration"] >= 0
    assert [t["processInstanceId"] for t in _get(client, "/history/task?unfinished=true")] == [str(open_one.pk)]
    assert _get(client, "/history/task/count?taskDefinitionKey=check") == {"count": 2}


def test_historic_variables_keep_an_ended_instances_last_values_typed(client):
    instance = services.instance_start(definition=deploy(REVIEW).created[0], variables={"amount": 30, "vip": True})
    _complete_task(client, instance)
    rows = _get(client, f"/history/variable-instance?processInstanceId={instance.pk}&sortBy=variableName")
    assert [(v["name"], v["type"], v["value"]) for v in rows] == [
        ("amount", "Integer", 30),
        ("points", "Integer", 3),
        ("vip", "Boolean", True),
    ]
    assert _get(client, "/history/variable-instance/count?variableName=amount&variableValue=30") == {"count": 1}
    assert _get(client, f"/history/variable-instance/{instance.pk}:points")["value"] == 3
    assert client.get(f"{REST}/history/variable-instance/{instance.pk}:nothing").status_code == 404


def test_history_shows_only_instances_the_caller_may_see(django_user_model):
    deploy(REVIEW)
    services.instance_start(definition=deploy(REVIEW).unchanged[0])
    stranger = APIClient()
    stranger.force_authenticate(django_user_model.objects.create_user("eve", password="x"))
    assert stranger.get(f"{REST}/history/process-instance/count").json() == {"count": 0}
    assert stranger.get(f"{REST}/history/activity-instance/count").json() == {"count": 0}
    assert stranger.get(f"{REST}/history/variable-instance/count").json() == {"count": 0}


def test_an_unknown_sort_is_a_400_naming_it(client):
    response = client.get(f"{REST}/history/task?sortBy=colour")
    assert response.status_code == 400 and "colour" in response.json()["message"]


def test_a_decision_is_evaluated_by_key_with_typed_variables_as_in_camundas_example(client):
    deploy(INVOICE_DMN.read_bytes(), name=INVOICE_DMN.name)
    response = client.post(
        f"{REST}/decision-definition/key/invoice-assign-approver/evaluate",
        {
            "variables": {
                "amount": {"value": 600, "type": "Double"},
                "invoiceCategory": {"value": "Misc", "type": "String"},
            }
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json() == [{"result": {"value": "management", "type": "String", "valueInfo": {}}}]


def test_decision_definitions_are_listed_and_read_by_id(client):
    deploy(INVOICE_DMN.read_bytes(), name=INVOICE_DMN.name)
    keys = [d["key"] for d in _get(client, "/decision-definition?latestVersion=true&sortBy=key")]
    assert keys == ["invoice-assign-approver", "invoiceClassification"]
    found = _get(client, "/decision-definition/key/invoiceClassification")
    assert found["resource"] == INVOICE_DMN.name and found["version"] == 1
    assert "invoiceClassification" in _get(client, f"/decision-definition/{found['id']}/xml")["dmnXml"]
    by_id = client.post(
        f"{REST}/decision-definition/{found['id']}/evaluate",
        {"variables": {"amount": {"value": 30, "type": "Integer"}, "invoiceCategory": {"value": "Misc"}}},
        format="json",
    )
    assert by_id.json() == [
        {"invoiceClassification": {"value": "day-to-day expense", "type": "String", "valueInfo": {}}}
    ]


def test_an_unknown_decision_is_a_404_in_camundas_shape(client):
    response = client.post(f"{REST}/decision-definition/key/nothing/evaluate", {"variables": {}}, format="json")
    assert response.status_code == 404 and response.json()["type"] == "InvalidRequestException"
