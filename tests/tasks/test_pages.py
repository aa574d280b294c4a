"""The task page's actions through Django's test client."""

import pytest
from django.urls import reverse

from .factories import open_task, start, task_process, user

pytestmark = pytest.mark.django_db

FORM = (
    '<bpmn:userTask id="t" name="Fill" camunda:candidateGroups="clerks"><bpmn:extensionElements><camunda:formData>'
    '<camunda:formField id="size" type="enum"><camunda:value id="s" name="Small"/><camunda:value id="l" name="Large"/>'
    '<camunda:validation><camunda:constraint name="required"/></camunda:validation></camunda:formField>'
    "</camunda:formData></bpmn:extensionElements></bpmn:userTask>"
)


@pytest.fixture
def clerk(db):
    return user("kim", "clerks")


@pytest.fixture
def task(clerk):
    return open_task(start(task_process(FORM)))


def test_claiming_from_the_page_assigns_the_task(client, clerk, task):
    client.force_login(clerk)
    response = client.post(reverse("tasks:task-claim", args=[task.pk]), follow=True)
    assert b"You claimed the task." in response.content
    task.refresh_from_db()
    assert task.assignee == clerk


def test_an_invalid_form_is_shown_again_with_the_field_error_and_nothing_changes(client, clerk, task):
    client.force_login(clerk)
    response = client.post(reverse("tasks:task-complete", args=[task.pk]), {"size": "xl"})
    assert response.status_code == 400
    assert b"field-error" in response.content
    task.refresh_from_db()
    assert task.status == "open"


def test_a_valid_form_completes_the_task_and_returns_to_the_inbox(client, clerk, task):
    client.force_login(clerk)
    response = client.post(reverse("tasks:task-complete", args=[task.pk]), {"size": "l"})
    assert response.status_code == 302 and response["Location"] == reverse("tasks:inbox")
    task.refresh_from_db()
    assert task.status == "completed" and task.instance.variables["size"] == "l"


def test_delegating_and_commenting_from_the_page(client, clerk, task):
    colleague = user("lee")
    client.force_login(clerk)
    client.post(reverse("tasks:task-claim", args=[task.pk]))
    client.post(reverse("tasks:task-comment", args=[task.pk]), {"text": "Over to you"})
    response = client.post(reverse("tasks:task-delegate", args=[task.pk]), {"user": "lee"}, follow=True)
    assert b"Task delegated." in response.content
    task.refresh_from_db()
    assert task.assignee == colleague and task.owner == clerk
    client.force_login(colleague)
    page = client.get(reverse("tasks:task-detail", args=[task.pk])).content.decode()
    assert "Over to you" in page and "Resolve and hand back to kim" in page


def test_the_inbox_shows_due_badges(client, clerk):
    start(
        task_process(
            '<bpmn:userTask id="late" name="Late one" camunda:candidateGroups="clerks" camunda:dueDate="2020-01-01T00:00:00Z"/>'
        )
    )
    client.force_login(clerk)
    page = client.get(reverse("tasks:inbox") + "?view=group").content.decode()
    assert "Late one" in page and "badge overdue" in page


def test_the_task_page_names_its_candidates(client, clerk, task):
    from tasks.models import TaskCandidate

    TaskCandidate.objects.create(task=task, user=user("lee"))
    client.force_login(clerk)
    page = client.get(reverse("tasks:task-detail", args=[task.pk])).content.decode()
    candidates = page[page.index('id="task-candidates"') :].split("</p>")[0]
    assert "group <b>clerks</b>" in candidates and "<b>lee</b>" in candidates


def test_done_by_me_lists_the_tasks_i_completed(client, clerk, task):
    client.force_login(clerk)
    client.post(reverse("tasks:task-complete", args=[task.pk]), {"size": "l"})
    done = client.get(reverse("tasks:inbox") + "?view=mine&status=completed").content.decode()
    assert 'id="tab-done"' in done and "Fill" in done
    assert "Fill" not in client.get(reverse("tasks:inbox") + "?view=mine").content.decode()


FOLLOW_UP_LATER = (
    '<bpmn:userTask id="later" name="Call back" camunda:candidateGroups="clerks" '
    'camunda:followUpDate="2999-01-01T00:00:00Z"/>'
)


def test_a_task_whose_follow_up_date_is_ahead_is_left_out_of_the_inbox_until_asked_for(client, clerk):
    start(task_process(FOLLOW_UP_LATER))
    client.force_login(clerk)
    group = client.get(reverse("tasks:inbox") + "?view=group").content.decode()
    assert "Call back" not in group and 'id="show-follow-up"' in group
    asked = client.get(reverse("tasks:inbox") + "?view=group&follow_up=all").content.decode()
    assert "Call back" in asked and "follow up 2999-01-01" in asked


def test_the_api_lists_tasks_to_follow_up_later_unless_asked_to_leave_them_out(client, clerk):
    start(task_process(FOLLOW_UP_LATER))
    client.force_login(clerk)
    listed = client.get("/api/v1/tasks/?view=group").json()
    assert [t["name"] for t in listed["results"]] == ["Call back"]
    due = client.get("/api/v1/tasks/?view=group&follow_up=due").json()
    assert due["results"] == []


def test_the_assignee_changes_due_date_follow_up_and_priority_from_the_page(client, clerk, task):
    from datetime import datetime

    from django.utils import timezone

    client.force_login(clerk)
    client.post(reverse("tasks:task-claim", args=[task.pk]))
    response = client.post(
        reverse("tasks:task-change", args=[task.pk]),
        {"due_at": "2027-03-01T17:30", "follow_up_at": "2027-02-20", "priority": "90"},
        follow=True,
    )
    assert b"Task changed." in response.content
    task.refresh_from_db()
    assert timezone.localtime(task.due_at).replace(tzinfo=None) == datetime(2027, 3, 1, 17, 30)
    assert timezone.localtime(task.follow_up_at).date().isoformat() == "2027-02-20"
    assert task.priority == 90
    assert task.instance.history.filter(kind="task_updated").exists()


def test_a_priority_out_of_range_is_refused_and_nothing_changes(client, clerk, task):
    client.force_login(clerk)
    client.post(reverse("tasks:task-claim", args=[task.pk]))
    response = client.post(reverse("tasks:task-change", args=[task.pk]), {"priority": "500"}, follow=True)
    assert b"Priority:" in response.content
    task.refresh_from_db()
    assert task.priority != 500


def test_a_candidate_who_is_not_the_assignee_cannot_change_the_task(client, clerk, task):
    client.force_login(clerk)
    response = client.post(reverse("tasks:task-change", args=[task.pk]), {"priority": "90"}, follow=True)
    assert b"Only the assignee" in response.content
    task.refresh_from_db()
    assert task.priority != 90


def test_an_owner_adds_and_removes_a_candidate_from_the_page(client, task):
    from django.contrib.auth.models import Group

    admin = user("ada")
    admin.groups.add(Group.objects.get(name="BPM Administrator"))
    user("lee")
    client.force_login(admin)
    client.post(reverse("tasks:task-candidate", args=[task.pk]), {"user": "lee"})
    assert task.candidates.filter(user__username="lee").exists()
    page = client.get(reverse("tasks:task-detail", args=[task.pk])).content.decode()
    assert 'id="candidate-form"' in page and "<b>lee</b>" in page
    client.post(reverse("tasks:task-candidate", args=[task.pk]), {"user": "lee", "change": "remove"})
    assert not task.candidates.filter(user__username="lee").exists()
