"""Body and variable sizes (issue 13.7) and the engine-only ``initiator`` (issue 13.8), over HTTP."""

import json

import pytest
from django.contrib.auth.models import Group
from rest_framework.test import APIClient

from processes.models import HistoryEvent, ProcessInstance
from tasks.models import HumanTask
from tests.processes.factories import bpmn, chain, deploy_one
from tests.tasks.factories import user

pytestmark = pytest.mark.django_db

ASSIGNED_TO_INITIATOR = bpmn("expense", chain('<bpmn:userTask id="fix" camunda:assignee="${initiator}"/>'))


@pytest.fixture
def starter():
    person = user("sam", "Process Designer")
    person.user_permissions.add(
        *Group.objects.get(name="BPM Administrator").permissions.filter(codename="start_instance")
    )
    api = APIClient()
    api.force_authenticate(person)
    return person, api


def test_a_forty_mebibyte_body_is_refused_with_413_before_anything_is_written(starter):
    deploy_one(ASSIGNED_TO_INITIATOR)
    _, api = starter
    body = json.dumps({"definition_key": "expense", "variables": {"blob": "x" * (40 * 1024 * 1024)}})
    response = api.generic("POST", "/api/v1/instances/", body, content_type="application/json")
    assert response.status_code == 413
    assert response["Content-Type"] == "application/problem+json"
    assert not ProcessInstance.objects.exists()


def test_variables_over_the_limit_are_a_400_naming_the_field(starter, settings):
    settings.BPM = {**settings.BPM, "MAX_VARIABLES_BYTES": 1000}
    deploy_one(ASSIGNED_TO_INITIATOR)
    _, api = starter
    response = api.post(
        "/api/v1/instances/", {"definition_key": "expense", "variables": {"note": "x" * 2000}}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "variables_too_large" and "variables" in response.json()["errors"]
    assert not ProcessInstance.objects.exists() and not HistoryEvent.objects.exists()


def test_completing_a_step_with_too_much_data_leaves_the_task_open(starter, settings):
    deploy_one(ASSIGNED_TO_INITIATOR)
    person, api = starter
    started = api.post("/api/v1/instances/", {"definition_key": "expense"}, format="json").json()
    settings.BPM = {**settings.BPM, "MAX_VARIABLES_BYTES": 1000}
    task = HumanTask.objects.get(instance_id=started["id"])
    response = api.post(f"/api/v1/tasks/{task.pk}/complete/", {"data": {"note": "x" * 2000}}, format="json")
    assert response.status_code == 400
    task.refresh_from_db()
    assert task.status == "open"


def test_a_starter_cannot_pass_initiator_to_route_a_task_to_someone_else(starter):
    deploy_one(ASSIGNED_TO_INITIATOR)
    victim_target = user("mallory")
    _, api = starter
    response = api.post(
        "/api/v1/instances/",
        {"definition_key": "expense", "variables": {"initiator": victim_target.username}},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["code"] == "reserved_variable" and "variables" in response.json()["errors"]
    assert not HumanTask.objects.exists()


def test_the_engine_sets_initiator_to_the_authenticated_starter(starter):
    deploy_one(ASSIGNED_TO_INITIATOR)
    person, api = starter
    started = api.post("/api/v1/instances/", {"definition_key": "expense"}, format="json").json()
    assert started["variables"]["initiator"] == "sam"
    assert HumanTask.objects.get(instance_id=started["id"]).assignee == person


def test_initiator_cannot_be_changed_later_through_variables_or_task_data(starter, admin_user):
    deploy_one(ASSIGNED_TO_INITIATOR)
    _, api = starter
    started = api.post("/api/v1/instances/", {"definition_key": "expense"}, format="json").json()
    admin = APIClient()
    admin.force_authenticate(admin_user)
    patched = admin.patch(
        f"/api/v1/instances/{started['id']}/variables/", {"variables": {"initiator": "mallory"}}, format="json"
    )
    removed = admin.patch(f"/api/v1/instances/{started['id']}/variables/", {"remove": ["initiator"]}, format="json")
    task = HumanTask.objects.get(instance_id=started["id"])
    completed = api.post(f"/api/v1/tasks/{task.pk}/complete/", {"data": {"initiator": "mallory"}}, format="json")
    assert [r.status_code for r in (patched, removed, completed)] == [400, 400, 400]
    assert ProcessInstance.objects.get(pk=started["id"]).variables["initiator"] == "sam"
