"""Claiming, completing and reassigning many tasks from the inbox: each task its own command."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from tasks.models import HumanTask

from .factories import open_task, start, task_process, user

pytestmark = pytest.mark.django_db

PLAIN = '<bpmn:userTask id="t" name="Sign" camunda:candidateGroups="clerks"/>'
WITH_REQUIRED_FIELD = (
    '<bpmn:userTask id="t" name="Measure" camunda:candidateGroups="clerks"><bpmn:extensionElements>'
    '<camunda:formData><camunda:formField id="size" type="long"><camunda:validation>'
    '<camunda:constraint name="required"/></camunda:validation></camunda:formField></camunda:formData>'
    "</bpmn:extensionElements></bpmn:userTask>"
)


def _bulk(client, action, tasks, **extra):
    return client.post(
        reverse("tasks:tasks-bulk"), {"action": action, "task": [t.pk for t in tasks], **extra}, follow=True
    )


def test_claiming_ticked_group_tasks_claims_each(client):
    kim = user("kim", "clerks")
    tasks = [open_task(start(task_process(PLAIN, key=f"p{i}"))) for i in range(3)]
    client.force_login(kim)
    response = _bulk(client, "claim", tasks)
    assert b"Claimed 3" in response.content
    assert set(HumanTask.objects.values_list("assignee__username", flat=True)) == {"kim"}


def test_completing_in_bulk_completes_what_needs_no_input_and_names_what_does(client):
    kim = user("kim", "clerks")
    plain = open_task(start(task_process(PLAIN, key="plain")))
    measured = open_task(start(task_process(WITH_REQUIRED_FIELD, key="measured")))
    client.force_login(kim)
    page = _bulk(client, "complete", [plain, measured]).content.decode()
    assert "Completed 1: Sign." in page and "Not Measure: its form needs size" in page
    plain.refresh_from_db(), measured.refresh_from_db()
    assert (plain.status, measured.status) == ("completed", "open")


def test_reassigning_in_bulk_needs_an_owner_and_a_username(client):
    tasks = [open_task(start(task_process(PLAIN, key=f"p{i}"))) for i in range(2)]
    user("lee")
    kim = user("kim", "clerks")
    client.force_login(kim)
    refused = _bulk(client, "reassign", tasks, user="lee").content.decode()
    assert refused.count("Not Sign:") == 2
    boss = user("boss")
    boss.groups.add(Group.objects.get(name="BPM Administrator"))
    client.force_login(boss)
    assert b"Reassigned 2" in _bulk(client, "reassign", tasks, user="lee").content
    assert set(HumanTask.objects.values_list("assignee__username", flat=True)) == {"lee"}


def test_a_task_the_user_may_not_see_is_refused_without_its_name(client):
    hidden = open_task(start(task_process('<bpmn:userTask id="t" name="Secret" camunda:candidateGroups="hr"/>')))
    client.force_login(user("kim", "clerks"))
    page = _bulk(client, "claim", [hidden]).content.decode()
    assert f"Not task {hidden.pk}" in page and "Secret" not in page
    hidden.refresh_from_db()
    assert hidden.assignee is None


def test_nothing_ticked_is_said_plainly(client):
    client.force_login(user("kim", "clerks"))
    assert b"Choose at least one task." in _bulk(client, "claim", []).content


def test_a_candidate_group_created_after_its_task_opened_makes_its_members_candidates(client):
    task = open_task(start(task_process('<bpmn:userTask id="t" name="Late" camunda:candidateGroups="newcomers"/>')))
    client.force_login(user("nia", "newcomers"))  # creates the group now
    page = client.get(reverse("tasks:inbox") + "?view=group").content.decode()
    assert f'value="{task.pk}"' in page
