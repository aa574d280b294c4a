"""Four-eyes bypass (issue 13.1): the instance's step routes follow the task rules; only an
administrator force-completes, with a reason named as such in the history. Attacked over HTTP."""

from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from guardian.shortcuts import assign_perm
from rest_framework.test import APIClient

from approvals.models import Approval
from processes import services as process_services
from processes.models import HistoryEvent, ProcessDefinition
from tasks.models import HumanTask
from tests.jobs.test_service_tasks import quote_process
from tests.processes.factories import deploy_one
from tests.tasks.factories import open_task, start, task_process, user

pytestmark = pytest.mark.django_db

DEMO = Path(__file__).resolve().parents[2] / "processes" / "demo"


@pytest.fixture
def purchase_by_requester(db):
    process_services.definition_deploy(
        files=[(n, (DEMO / n).read_bytes()) for n in ("purchase_request.bpmn", "approval_levels.dmn")]
    )
    requester = user("rita")
    for d in ProcessDefinition.objects.filter(key="purchase_request"):
        assign_perm("processes.start_instance", requester, d)
    api = APIClient()
    api.force_authenticate(requester)
    started = api.post(
        "/api/v1/instances/",
        {
            "definition_key": "purchase_request",
            "business_key": "PO-42000",
            "variables": {"amount": 42000, "item": "car"},
        },
        format="json",
    )
    assert started.status_code == 201, started.content
    return requester, api, started.json()


def test_the_initiator_cannot_complete_their_own_approval_through_the_instance_api(purchase_by_requester):
    requester, api, instance = purchase_by_requester
    step = instance["waiting"][0]["spiff_task_id"]
    response = api.post(
        f"/api/v1/instances/{instance['id']}/steps/{step}/complete/",
        {"data": {"approve_decision": "approved"}},
        format="json",
    )
    assert response.status_code == 404  # not a candidate: the task is not the requester's to see
    assert response["Content-Type"] == "application/problem+json"
    assert HumanTask.objects.get(instance_id=instance["id"], status="open").spiff_task_id.hex == step.replace("-", "")
    assert not Approval.objects.exists()


def test_an_owner_and_candidate_cannot_complete_an_approval_through_the_instance_api(purchase_by_requester):
    _, _, instance = purchase_by_requester
    lead = user("lena", "Team Lead")
    for d in ProcessDefinition.objects.filter(key="purchase_request"):
        assign_perm("processes.own_process", lead, d)
    api = APIClient()
    api.force_authenticate(lead)
    step = instance["waiting"][0]["spiff_task_id"]
    response = api.post(f"/api/v1/instances/{instance['id']}/steps/{step}/complete/", {"data": {}}, format="json")
    assert response.status_code == 403
    assert "decide" in response.json()["detail"]
    assert HumanTask.objects.filter(instance_id=instance["id"], status="open").count() == 1


def test_the_instance_page_offers_no_complete_box_and_the_old_route_is_gone(purchase_by_requester):
    requester, _, instance = purchase_by_requester
    page = Client()
    page.force_login(requester)
    html = page.get(f"/processes/instances/{instance['id']}/").content.decode()
    assert "Force complete" not in html and "/complete/" not in html
    step = instance["waiting"][0]["spiff_task_id"]
    assert page.post(f"/processes/instances/{instance['id']}/steps/{step}/complete/", {"data": "{}"}).status_code == 404


def test_a_plain_user_cannot_force_complete(purchase_by_requester):
    requester, api, instance = purchase_by_requester
    step = instance["waiting"][0]["spiff_task_id"]
    response = api.post(
        f"/api/v1/instances/{instance['id']}/steps/{step}/force-complete/", {"reason": "mine"}, format="json"
    )
    assert response.status_code == 403
    page = Client()
    page.force_login(requester)
    page.post(f"/processes/instances/{instance['id']}/steps/{step}/force-complete/", {"reason": "mine", "data": ""})
    assert HumanTask.objects.filter(instance_id=instance["id"], status="open").count() == 1
    assert not HistoryEvent.objects.filter(kind="step_force_completed").exists()


def test_a_service_task_result_cannot_be_faked_through_the_step_route(admin_user):
    instance = process_services.instance_start(definition=deploy_one(quote_process("https://erp.example.com")))
    step = instance.waiting_steps.get()
    owner = user("olga")
    assign_perm("processes.own_process", owner, instance.definition)
    api = APIClient()
    api.force_authenticate(owner)
    response = api.post(
        f"/api/v1/instances/{instance.pk}/steps/{step.spiff_task_id}/complete/", {"data": {"price": 1}}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["code"] == "step_not_completable"
    instance.refresh_from_db()
    assert instance.status == "running" and "price" not in instance.variables


def test_an_administrator_force_completes_with_a_reason_recorded_as_a_forced_completion(admin_user):
    instance = process_services.instance_start(definition=deploy_one(quote_process("https://erp.example.com")))
    step = instance.waiting_steps.get()
    api = APIClient()
    api.force_authenticate(admin_user)
    url = f"/api/v1/instances/{instance.pk}/steps/{step.spiff_task_id}/force-complete/"
    missing = api.post(url, {"data": {"price": 7}}, format="json")
    assert missing.status_code == 400 and "reason" in missing.json()["errors"]
    done = api.post(url, {"reason": "ERP was down; price agreed by phone", "data": {"price": 7}}, format="json")
    assert done.status_code == 200, done.content
    assert done.json()["status"] == "completed" and done.json()["variables"]["price"] == 7
    forced = HistoryEvent.objects.get(instance=instance, kind="step_force_completed")
    assert forced.actor == admin_user and forced.element_id == "get_quote"
    assert forced.data["reason"] == "ERP was down; price agreed by phone"
    kinds = list(HistoryEvent.objects.filter(instance=instance).order_by("id").values_list("kind", flat=True))
    assert kinds.index("step_force_completed") < kinds.index("instance_completed")


def test_a_bpm_administrator_force_completes_from_the_instance_page(db):
    admin = user("ada", "BPM Administrator")
    instance = start(task_process('<bpmn:userTask id="review" camunda:candidateGroups="nobody"/>'), user=admin)
    task = open_task(instance)
    page = Client()
    page.force_login(admin)
    html = page.get(f"/processes/instances/{instance.pk}/").content.decode()
    assert "Force complete" in html
    page.post(
        f"/processes/instances/{instance.pk}/steps/{task.spiff_task_id}/force-complete/",
        {"reason": "the group no longer exists", "data": "{}"},
    )
    task.refresh_from_db()
    instance.refresh_from_db()
    assert task.status == "completed" and task.completed_by == admin
    assert instance.status == "completed"


def test_the_step_route_completes_a_user_task_for_a_candidate_and_claims_it(db):
    requester = user("rita")
    clerks = Group.objects.create(name="Clerks")
    instance = start(task_process('<bpmn:userTask id="file" camunda:candidateGroups="Clerks"/>'), user=requester)
    task = open_task(instance)
    api = APIClient()
    api.force_authenticate(requester)
    url = f"/api/v1/instances/{instance.pk}/steps/{task.spiff_task_id}/complete/"
    assert api.post(url, {"data": {}}, format="json").status_code == 404  # not a candidate: the task is hidden
    requester.groups.add(clerks)
    requester = type(requester).objects.get(pk=requester.pk)  # a new request reads the groups again
    api.force_authenticate(requester)
    response = api.post(url, {"data": {"filed": True}}, format="json")
    assert response.status_code == 200, response.content
    task.refresh_from_db()
    assert task.status == "completed" and task.assignee == requester
    assert HistoryEvent.objects.filter(instance=instance, kind="task_claimed", actor=requester).exists()
