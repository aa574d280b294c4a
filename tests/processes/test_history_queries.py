"""/api/v1/history/: activities, decisions, variables and incidents across instances, with
filters and CSV, over what the caller may see; completed tasks as CSV."""

import pytest
from rest_framework.test import APIClient

from processes import services
from processes.models import HistoryEvent, Incident
from tasks.models import HumanTask

from ..camunda_models.test_dmn import ROWS, _table
from .factories import bpmn, chain, deploy_one

pytestmark = pytest.mark.django_db
ORDER = bpmn("order", chain('<bpmn:userTask id="review"/>'))


@pytest.fixture
def api(admin_user):
    client = APIClient()
    client.force_authenticate(admin_user)
    return client


def test_activities_across_instances_filter_by_process_and_element(api):
    first = services.instance_start(definition=deploy_one(ORDER))
    services.instance_start(definition=deploy_one(bpmn("other", chain('<bpmn:userTask id="review"/>')), "other.bpmn"))
    rows = api.get("/api/v1/history/activities/?process_key=order&element_id=review").json()["results"]
    assert [(r["instance"], r["kind"]) for r in rows] == [(first.pk, "step_entered")]


def test_a_business_rule_task_records_its_decision_in_the_history(api):
    table = _table("FIRST", ROWS).replace("<definitions", '<?xml version="1.0"?><definitions', 1).encode()
    content = bpmn(
        "rated",
        chain(
            '<bpmn:businessRuleTask id="rate" camunda:decisionRef="t" camunda:resultVariable="rating" camunda:mapDecisionResult="singleEntry"/>',
            '<bpmn:userTask id="wait"/>',
        ),
    )
    definition = services.definition_deploy(files=[("p.bpmn", content), ("t.dmn", table)]).created[0]
    instance = services.instance_start(definition=definition, variables={"score": 25})
    [row] = api.get("/api/v1/history/decisions/?name=t").json()["results"]
    assert row["instance"] == instance.pk and row["element_id"] == "rate"
    assert row["data"]["decision"] == "t" and row["data"]["results"]


def test_variable_changes_filter_by_name_and_export_as_csv(api):
    instance = services.instance_start(definition=deploy_one(ORDER))
    services.instance_set_variables(instance_id=instance.pk, variables={"amount": 7})
    services.instance_set_variables(instance_id=instance.pk, variables={"other": 1})
    rows = api.get("/api/v1/history/variables/?name=amount").json()["results"]
    assert [r["data"]["changed"] for r in rows] == [{"amount": 7}]
    answer = api.get("/api/v1/history/variables/?name=amount&export=csv")
    assert answer["Content-Type"].startswith("text/csv") and '""amount"": 7' in answer.content.decode()


def test_incidents_across_instances_filter_open_and_resolved(api):
    instance = services.instance_start(definition=deploy_one(ORDER))
    Incident.objects.create(instance=instance, element_id="review", message="boom")
    Incident.objects.create(instance=instance, element_id="review", message="old").__class__.objects.filter(
        message="old"
    ).update(resolved_at="2026-01-01T00:00:00Z")
    assert [r["message"] for r in api.get("/api/v1/history/incidents/?state=open").json()["results"]] == ["boom"]
    assert [r["message"] for r in api.get("/api/v1/history/incidents/?state=resolved").json()["results"]] == ["old"]


def test_history_of_instances_one_cannot_see_is_not_listed(admin_user, django_user_model):
    services.instance_start(definition=deploy_one(ORDER), user=admin_user)
    stranger = APIClient()
    stranger.force_authenticate(django_user_model.objects.create_user("stranger"))
    assert stranger.get("/api/v1/history/activities/").json()["results"] == []
    assert HistoryEvent.objects.exists()


def test_a_bad_filter_is_a_field_error(api):
    answer = api.get("/api/v1/history/incidents/?state=sometimes")
    assert answer.status_code == 400 and "state" in answer.json()["errors"]


def test_completed_tasks_export_as_csv_with_who_and_when(api, admin_user):
    instance = services.instance_start(definition=deploy_one(ORDER))
    task = HumanTask.objects.get(instance=instance)
    services.step_complete(instance_id=instance.pk, spiff_task_id=str(task.spiff_task_id), user=admin_user)
    answer = api.get("/api/v1/tasks/?status=completed&export=csv")
    text = answer.content.decode()
    assert answer["Content-Type"].startswith("text/csv") and "completed_by" in text.splitlines()[0]
    assert "admin" in text.splitlines()[1]
