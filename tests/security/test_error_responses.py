"""Errors under /api/ are problem+json, never Django's HTML page; pages get a styled page."""

import pytest
from django.db import OperationalError
from django.test import Client
from rest_framework.test import APIClient

from processes import services
from tests.processes.factories import bpmn, chain, deploy_one

pytestmark = pytest.mark.django_db


def start_failing_with(error: Exception, user, monkeypatch):
    """Start an instance over HTTP while the start service raises ``error``."""

    def failing(**kwargs):
        raise error

    monkeypatch.setattr(services, "instance_start", failing)
    deploy_one(bpmn("p", chain('<bpmn:userTask id="t"/>')))
    api = APIClient(raise_request_exception=False)
    api.force_authenticate(user)
    return api.post("/api/v1/instances/", {"definition_key": "p"}, format="json")


def test_an_unhandled_error_in_the_api_is_a_problem_500(admin_user, monkeypatch):
    response = start_failing_with(RuntimeError("a bug"), admin_user, monkeypatch)
    assert response.status_code == 500
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "server_error" and "a bug" not in response.content.decode()


def test_a_database_outage_is_a_503_with_retry_after(admin_user, monkeypatch):
    response = start_failing_with(OperationalError("connection refused"), admin_user, monkeypatch)
    assert response.status_code == 503 and response["Retry-After"] == "5"
    assert response["Content-Type"] == "application/problem+json"


def test_an_unknown_api_route_is_a_problem_404():
    response = APIClient().get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"


def test_a_page_that_is_not_yours_is_a_styled_404_page(django_user_model):
    client = Client()
    client.force_login(django_user_model.objects.create_user("nosy"))
    response = client.get("/processes/instances/999999/")
    assert response.status_code == 404
    assert b'class="card error-page"' in response.content and b"not yours to see" in response.content


def test_a_forbidden_page_action_is_a_styled_403_page(django_user_model):
    client = Client()
    client.force_login(django_user_model.objects.create_user("plain"))
    response = client.get("/notifications/webhooks/")
    assert response.status_code == 403
    assert b'class="card error-page"' in response.content


def test_a_page_action_the_service_refuses_as_forbidden_is_a_styled_403(django_user_model):
    from guardian.shortcuts import assign_perm

    definition = deploy_one(bpmn("p", chain('<bpmn:userTask id="t"/>')))
    starter = django_user_model.objects.create_user("sam")
    assign_perm("processes.start_instance", starter, definition)
    instance = services.instance_start(definition=definition, user=starter)
    step = instance.waiting_steps.get()
    client = Client()
    client.force_login(starter)
    response = client.post(
        f"/processes/instances/{instance.pk}/steps/{step.spiff_task_id}/force-complete/", {"reason": "mine", "data": ""}
    )
    assert response.status_code == 403 and b'class="card error-page"' in response.content
    assert b"Only administrators" in response.content


def test_a_page_action_on_a_task_that_is_not_yours_is_a_404(django_user_model):
    from tasks.models import HumanTask

    instance = services.instance_start(definition=deploy_one(bpmn("p", chain('<bpmn:userTask id="t"/>'))))
    task = HumanTask.objects.get(instance=instance)
    client = Client()
    client.force_login(django_user_model.objects.create_user("nosy"))
    assert client.post(f"/tasks/{task.pk}/claim/").status_code == 404
