"""/api/v1/ migration, modification and batches: shapes, permissions, clear errors."""

import pytest
from django.contrib.auth.models import Group
from rest_framework.test import APIClient

from processes import services
from processes.models import Batch, ProcessInstance
from processes.services import batches

from .factories import bpmn, chain, deploy_one

pytestmark = pytest.mark.django_db
V1 = bpmn("order", chain('<bpmn:userTask id="review"/>'))
V2 = bpmn("order", chain('<bpmn:userTask id="review"/>', '<bpmn:userTask id="ship"/>'))


@pytest.fixture
def api(admin_user):
    client = APIClient()
    client.force_authenticate(admin_user)
    return client


@pytest.fixture
def outsider(django_user_model):
    user = django_user_model.objects.create_user("outsider")
    user.groups.add(Group.objects.get(name="Task User"))
    client = APIClient()
    client.force_authenticate(user)
    return client


def versions():
    return deploy_one(V1, "order.bpmn"), deploy_one(V2, "order.bpmn")


def test_generate_validate_and_execute_a_plan_through_the_api(api):
    v1, v2 = versions()
    instance = services.instance_start(definition=v1)
    plan = api.post(
        "/api/v1/migration/generate/", {"source_definition_id": v1.pk, "target_definition_id": v2.pk}, format="json"
    ).json()
    assert {"source": "review", "target": "review", "update_event_trigger": False} in plan["instructions"]
    plan.pop("problems")
    report = api.post(
        "/api/v1/migration/validate/", {"plan": plan, "instance_ids": [instance.pk]}, format="json"
    ).json()
    assert report == {"plan": [], "instances": {str(instance.pk): []}}
    answer = api.post("/api/v1/migration/execute/", {"plan": plan, "query": {"definition_id": v1.pk}}, format="json")
    assert answer.status_code == 200 and answer.json()["migrated"] == 1
    instance.refresh_from_db()
    assert instance.definition_id == v2.pk


def test_an_instance_that_cannot_move_is_a_422_with_its_report(api):
    v1 = deploy_one(V1, "order.bpmn")
    v2 = deploy_one(bpmn("order", chain('<bpmn:userTask id="check"/>')), "order.bpmn")
    instance = services.instance_start(definition=v1)
    plan = services.migration_plan_generate(source=v1, target=v2).as_dict()
    answer = api.post("/api/v1/migration/execute/", {"plan": plan, "instance_ids": [instance.pk]}, format="json")
    assert answer.status_code == 422 and answer["Content-Type"] == "application/problem+json"
    body = answer.json()
    assert body["code"] == "migration_invalid"
    assert body["errors"]["instances"][str(instance.pk)][0]["element_id"] == "review"


def test_execute_as_a_batch_answers_202_with_the_batch(api):
    v1, v2 = versions()
    ids = [services.instance_start(definition=v1).pk for _ in range(3)]
    plan = services.migration_plan_generate(source=v1, target=v2).as_dict()
    answer = api.post(
        "/api/v1/migration/execute/", {"plan": plan, "instance_ids": ids, "run_as_batch": True}, format="json"
    )
    assert answer.status_code == 202 and answer.json()["kind"] == "migrate" and answer.json()["total"] == 3
    while batches.batch_run_chunk(answer.json()["id"]):
        pass
    assert api.get(f"/api/v1/batches/{answer.json()['id']}/").json()["status"] == "completed"
    assert ProcessInstance.objects.filter(definition=v2).count() == 3


def test_selecting_both_ids_and_a_query_is_a_field_error(api):
    v1, v2 = versions()
    plan = services.migration_plan_generate(source=v1, target=v2).as_dict()
    answer = api.post("/api/v1/migration/validate/", {"plan": plan, "instance_ids": [1], "query": {}}, format="json")
    assert answer.status_code == 400 and "instance_ids" in answer.json()["errors"]


def test_someone_who_does_not_own_the_process_may_not_migrate(outsider):
    v1, v2 = versions()
    answer = outsider.post(
        "/api/v1/migration/generate/", {"source_definition_id": v1.pk, "target_definition_id": v2.pk}, format="json"
    )
    assert answer.status_code in (403, 404)


def test_modify_an_instance_through_the_api(api):
    instance = services.instance_start(definition=deploy_one(V2))
    answer = api.post(
        f"/api/v1/instances/{instance.pk}/modify/",
        {
            "instructions": [
                {"type": "cancel", "element_id": "review"},
                {"type": "start_before", "element_id": "ship"},
            ],
            "reason": "skip review",
        },
        format="json",
    )
    assert answer.status_code == 200
    assert [w["element_id"] for w in answer.json()["waiting"]] == ["ship"]


def test_an_unknown_instruction_type_is_a_field_error(api):
    instance = services.instance_start(definition=deploy_one(V2))
    answer = api.post(
        f"/api/v1/instances/{instance.pk}/modify/",
        {"instructions": [{"type": "jump", "element_id": "x"}]},
        format="json",
    )
    assert answer.status_code == 400 and "instructions" in answer.json()["errors"]


def test_a_modification_of_an_unknown_element_is_a_422_naming_it(api):
    instance = services.instance_start(definition=deploy_one(V2))
    answer = api.post(
        f"/api/v1/instances/{instance.pk}/modify/",
        {"instructions": [{"type": "start_before", "element_id": "nope"}]},
        format="json",
    )
    assert answer.status_code == 422 and answer.json()["errors"]["element_id"] == "nope"


def test_create_watch_and_cancel_a_batch(api):
    ids = [services.instance_start(definition=deploy_one(V1)).pk for _ in range(2)]
    created = api.post("/api/v1/batches/", {"type": "suspend", "instance_ids": ids}, format="json")
    assert created.status_code == 202
    batch_id = created.json()["id"]
    assert api.get("/api/v1/batches/").json()["results"][0]["id"] == batch_id
    assert api.post(f"/api/v1/batches/{batch_id}/cancel/").json()["status"] == "cancelled"
    assert api.get(f"/api/v1/batches/{batch_id}/failures/").json()["results"] == []


def test_a_batch_over_instances_one_cannot_see_is_a_400(outsider, admin_user):
    instance = services.instance_start(definition=deploy_one(V1), user=admin_user)
    answer = outsider.post("/api/v1/batches/", {"type": "cancel", "instance_ids": [instance.pk]}, format="json")
    assert answer.status_code == 400 and not Batch.objects.exists()


def test_validating_more_instances_than_one_request_checks_is_a_400(api, monkeypatch):
    from processes.services import migration

    monkeypatch.setattr(migration, "MAX_SYNC_INSTANCES", 1)
    v1, v2 = versions()
    ids = [services.instance_start(definition=v1).pk for _ in range(2)]
    plan = services.migration_plan_generate(source=v1, target=v2).as_dict()
    answer = api.post("/api/v1/migration/validate/", {"plan": plan, "instance_ids": ids}, format="json")
    assert answer.status_code == 400 and "instance_ids" in answer.json()["errors"]
