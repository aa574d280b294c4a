"""/engine-rest migration, modification, batch and history/cleanup in Camunda 7's shapes."""

import pytest
from rest_framework.test import APIClient

from camunda_rest.schemas import SCHEMAS
from processes import services
from processes.models import Job, ProcessInstance, WaitingStep
from processes.services import batches

from ..processes.factories import bpmn, chain, deploy_one

pytestmark = pytest.mark.django_db
REST = "/engine-rest"
V1 = bpmn("order", chain('<bpmn:userTask id="review"/>'))
V2 = bpmn("order", chain('<bpmn:userTask id="review"/>', '<bpmn:userTask id="ship"/>'))


@pytest.fixture
def client(admin_user):
    client = APIClient()
    client.force_authenticate(admin_user)
    return client


def fields(name: str) -> set[str]:
    return set(SCHEMAS[name]["properties"])


def versions():
    return deploy_one(V1, "order.bpmn"), deploy_one(V2, "order.bpmn")


def test_generate_validate_and_execute_as_camunda_clients_do(client):
    v1, v2 = versions()
    instance = services.instance_start(definition=v1)
    plan = client.post(
        f"{REST}/migration/generate",
        {"sourceProcessDefinitionId": str(v1.pk), "targetProcessDefinitionId": str(v2.pk)},
        format="json",
    ).json()
    assert set(plan) == fields("MigrationPlanDto")
    assert {"sourceActivityIds": ["review"], "targetActivityIds": ["review"], "updateEventTrigger": False} in plan[
        "instructions"
    ]
    report = client.post(f"{REST}/migration/validate", plan, format="json").json()
    assert report == {"instructionReports": [], "variableReports": {}}
    answer = client.post(
        f"{REST}/migration/execute", {"migrationPlan": plan, "processInstanceIds": [str(instance.pk)]}, format="json"
    )
    assert answer.status_code == 204
    instance.refresh_from_db()
    assert instance.definition_id == v2.pk


def test_a_plan_with_a_wrong_kind_has_an_instruction_report(client):
    v1 = deploy_one(V1, "order.bpmn")
    v2 = deploy_one(bpmn("order", chain('<bpmn:manualTask id="review"/>')), "order.bpmn")
    plan = {
        "sourceProcessDefinitionId": str(v1.pk),
        "targetProcessDefinitionId": str(v2.pk),
        "instructions": [{"sourceActivityIds": ["review"], "targetActivityIds": ["review"]}],
    }
    [report] = client.post(f"{REST}/migration/validate", plan, format="json").json()["instructionReports"]
    assert report["failures"] == ["'review' is a userTask, its target 'review' a manualTask"]


def test_an_instance_that_cannot_move_answers_camundas_validation_exception(client):
    v1 = deploy_one(V1, "order.bpmn")
    v2 = deploy_one(bpmn("order", chain('<bpmn:userTask id="check"/>')), "order.bpmn")
    instance = services.instance_start(definition=v1)
    plan = {"sourceProcessDefinitionId": str(v1.pk), "targetProcessDefinitionId": str(v2.pk), "instructions": []}
    answer = client.post(
        f"{REST}/migration/execute", {"migrationPlan": plan, "processInstanceIds": [str(instance.pk)]}, format="json"
    )
    assert answer.status_code == 400
    body = answer.json()
    assert body["type"] == "MigratingProcessInstanceValidationException"
    assert body["validationReport"][0]["processInstanceId"] == str(instance.pk)
    assert "review" in body["validationReport"][0]["failures"][0]


def test_execute_async_gives_a_batch_that_the_batch_resource_shows(client):
    v1, v2 = versions()
    ids = [str(services.instance_start(definition=v1).pk) for _ in range(2)]
    plan = client.post(
        f"{REST}/migration/generate",
        {"sourceProcessDefinitionId": str(v1.pk), "targetProcessDefinitionId": str(v2.pk)},
        format="json",
    ).json()
    batch = client.post(
        f"{REST}/migration/executeAsync",
        {"migrationPlan": plan, "processInstanceQuery": {"processDefinitionId": str(v1.pk)}},
        format="json",
    ).json()
    assert set(batch) == fields("BatchDto") and batch["type"] == "instance-migration" and batch["totalJobs"] == 2
    [statistics] = client.get(f"{REST}/batch/statistics").json()
    assert set(statistics) == fields("BatchStatisticsDto") and statistics["remainingJobs"] == 2
    assert client.get(f"{REST}/batch/count").json() == {"count": 1}
    while batches.batch_run_chunk(int(batch["id"])):
        pass
    assert client.get(f"{REST}/batch/{batch['id']}").status_code == 404  # Camunda lists running batches only
    assert ProcessInstance.objects.filter(pk__in=ids, definition=v2).count() == 2


def test_deleting_a_batch_stops_it(client):
    v1, _ = versions()
    ids = [services.instance_start(definition=v1).pk for _ in range(2)]
    batch = batches.batch_create(kind="suspend", instance_ids=ids)
    assert client.delete(f"{REST}/batch/{batch.pk}").status_code == 204
    batch.refresh_from_db()
    assert batch.status == "cancelled"


def test_modification_with_typed_variables(client):
    instance = services.instance_start(definition=deploy_one(V2))
    answer = client.post(
        f"{REST}/process-instance/{instance.pk}/modification",
        {
            "instructions": [
                {"type": "cancel", "activityId": "review"},
                {
                    "type": "startBeforeActivity",
                    "activityId": "ship",
                    "variables": {"note": {"value": "phoned", "type": "String"}},
                },
            ],
            "annotation": "review done by phone",
        },
        format="json",
    )
    assert answer.status_code == 204, answer.content
    assert list(WaitingStep.objects.filter(instance=instance).values_list("element_id", flat=True)) == ["ship"]
    instance.refresh_from_db()
    assert instance.variables == {"note": "phoned"}


def test_start_transition_is_refused_with_what_to_do_instead(client):
    instance = services.instance_start(definition=deploy_one(V2))
    answer = client.post(
        f"{REST}/process-instance/{instance.pk}/modification",
        {"instructions": [{"type": "startTransition", "transitionId": "f1"}]},
        format="json",
    )
    assert answer.status_code == 400 and "start before the flow's target" in answer.json()["message"]


def test_history_cleanup_schedules_one_job(client):
    first = client.post(f"{REST}/history/cleanup").json()
    assert set(first) == fields("JobDto")
    assert client.post(f"{REST}/history/cleanup").json()["id"] == first["id"]
    assert Job.objects.filter(kind="history_cleanup").count() == 1


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/migration/validate", ["not", "an", "object"]),
        ("/migration/execute", {"migrationPlan": {"instructions": ["x"]}, "processInstanceIds": ["1"]}),
    ],
)
def test_a_malformed_migration_body_is_a_camunda_400_not_a_500(client, path, body):
    versions()
    answer = client.post(f"{REST}{path}", body, format="json")
    assert answer.status_code == 400 and answer.json()["type"] == "InvalidRequestException"


def test_a_malformed_query_definition_id_is_a_400(client):
    v1, v2 = versions()
    plan = {"sourceProcessDefinitionId": str(v1.pk), "targetProcessDefinitionId": str(v2.pk), "instructions": []}
    answer = client.post(
        f"{REST}/migration/execute",
        {"migrationPlan": plan, "processInstanceQuery": {"processDefinitionId": "abc"}},
        format="json",
    )
    assert answer.status_code == 400 and "processDefinitionId" in answer.json()["message"]


def test_a_modification_instruction_that_is_no_object_is_a_400(client):
    instance = services.instance_start(definition=deploy_one(V2))
    answer = client.post(
        f"{REST}/process-instance/{instance.pk}/modification", {"instructions": ["cancel"]}, format="json"
    )
    assert answer.status_code == 400
