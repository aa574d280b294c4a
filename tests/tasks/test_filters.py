"""Saved and shared inbox filters, and the inbox's variable and candidate-group filters."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from tasks.models import TaskFilter

from .factories import start, task_process, user

pytestmark = pytest.mark.django_db

PAY = '<bpmn:userTask id="t" name="Pay" camunda:candidateGroups="clerks"/>'
FILE = '<bpmn:userTask id="t" name="File" camunda:candidateGroups="clerks,archive"/>'


def _save(client, name, query, share_with=""):
    return client.post(
        reverse("tasks:filter-save"), {"name": name, "query": query, "share_with": share_with}, follow=True
    )


def test_a_saved_filter_is_listed_and_opens_the_inbox_as_it_was(client):
    kim = user("kim", "clerks")
    start(task_process(PAY, key="pay"), amount=900)
    start(task_process(PAY, key="pay"), amount=5)
    client.force_login(kim)
    page = _save(client, "Big payments", "view=group&variable=amount%3A900").content.decode()
    assert "Filter saved." in page and 'id="saved-filters"' in page and "Big payments" in page
    assert page.count('name="task"') == 1  # the saved query applied: one task of 900
    assert TaskFilter.objects.get().params == {"view": "group", "variable": "amount:900"}


def test_a_filter_shared_with_a_group_is_offered_to_its_members_only(client):
    kim = user("kim", "clerks")
    lee = user("lee", "clerks")
    sam = user("sam")
    client.force_login(kim)
    _save(client, "Clerks' queue", "view=group&group=clerks", share_with="clerks")
    client.force_login(lee)
    page = client.get(reverse("tasks:inbox")).content.decode()
    assert "Clerks&#x27; queue" in page and "from kim" in page
    client.force_login(sam)
    assert "queue" not in client.get(reverse("tasks:inbox")).content.decode()


def test_sharing_with_a_group_one_is_not_in_is_refused(client):
    Group.objects.create(name="board")
    client.force_login(user("kim", "clerks"))
    page = _save(client, "Board", "view=group", share_with="board").content.decode()
    assert "only with a group you are in" in page and not TaskFilter.objects.exists()


def test_only_the_owner_deletes_a_filter(client):
    kim, lee = user("kim", "clerks"), user("lee", "clerks")
    client.force_login(kim)
    _save(client, "Mine", "view=group", share_with="clerks")
    saved = TaskFilter.objects.get()
    client.force_login(lee)
    client.post(reverse("tasks:filter-delete", args=[saved.pk]))
    assert TaskFilter.objects.exists()
    client.force_login(kim)
    client.post(reverse("tasks:filter-delete", args=[saved.pk]))
    assert not TaskFilter.objects.exists()


def test_the_inbox_filters_by_candidate_group(client):
    kim = user("kim", "clerks", "archive")
    start(task_process(PAY, key="pay"))
    start(task_process(FILE, key="file"))
    client.force_login(kim)
    page = client.get(reverse("tasks:inbox"), {"view": "group", "group": "archive"}).content.decode()
    assert ">File</a>" in page and ">Pay</a>" not in page


def test_a_malformed_variable_filter_is_said_and_lists_nothing(client):
    client.force_login(user("kim", "clerks"))
    start(task_process(PAY, key="pay"))
    page = client.get(reverse("tasks:inbox"), {"view": "group", "variable": "amount=1"}).content.decode()
    assert "Give variable=name:value" in page and ">Pay</a>" not in page
