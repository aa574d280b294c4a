"""Delegate, then resolve: the delegate who is not a candidate gets the resolved task back,
not a 404 after the resolve was committed (API and page)."""

import pytest
from rest_framework.test import APIClient

from tasks import services

from ..tasks.factories import open_task, start, task_process, user

pytestmark = pytest.mark.django_db

TASK = '<bpmn:userTask id="approve" name="Approve" camunda:candidateGroups="approvers"/>'


@pytest.fixture
def delegated():
    ann, eve = user("ann", "approvers"), user("eve")
    task = open_task(start(task_process(TASK)))
    services.task_claim(task_id=task.pk, user=ann)
    services.task_delegate(task_id=task.pk, user=ann, to_username="eve")
    return task, ann, eve


def test_a_delegate_who_is_not_a_candidate_resolves_over_the_api_and_gets_the_task(delegated):
    task, ann, eve = delegated
    client = APIClient()
    client.force_authenticate(eve)
    response = client.post(f"/api/v1/tasks/{task.pk}/resolve/", {"data": {"note": "done"}}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["id"] == task.pk and body["delegation_state"] == "resolved" and body["assignee"] == "ann"


def test_a_delegate_who_is_not_a_candidate_resolves_on_the_page_and_lands_in_the_inbox(delegated, client):
    task, ann, eve = delegated
    client.force_login(eve)
    response = client.post(f"/tasks/{task.pk}/resolve/", {})
    assert response.status_code == 302
    assert response["Location"] == "/tasks/"
    assert client.get(response["Location"]).status_code == 200
    task.refresh_from_db()
    assert task.delegation_state == "resolved"
