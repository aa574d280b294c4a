"""Who sees and acts on a task, decided in the query; others get 404 on web and API."""

import threading

import pytest
from django.db import connection
from django.urls import reverse
from guardian.shortcuts import assign_perm
from rest_framework.test import APIClient

from processes.models import ProcessDefinition
from tasks import selectors, services
from tasks.exceptions import TaskAlreadyClaimed, TaskNotOpen

from .factories import open_task, start, task_process, user

pytestmark = pytest.mark.django_db

TASK = '<bpmn:userTask id="t" name="Check" camunda:candidateGroups="clerks" camunda:candidateUsers="cara"/>'


@pytest.fixture
def setup(db):
    people = {
        "cara": user("cara"),
        "gus": user("gus", "clerks"),
        "owen": user("owen"),
        "zed": user("zed"),
        "root": user("root", is_superuser=True),
    }
    task = open_task(start(task_process(TASK), business_key="B-9"))
    assign_perm("processes.own_process", people["owen"], ProcessDefinition.objects.get(key="tasks_process"))
    return people, task


@pytest.mark.parametrize("who", ["cara", "gus", "owen", "root"])
def test_candidates_owners_and_administrators_see_the_task(setup, who):
    people, task = setup
    assert selectors.tasks_visible_to(people[who]).filter(pk=task.pk).exists()


def test_anyone_else_does_not_see_the_task(setup):
    people, task = setup
    assert not selectors.tasks_visible_to(people["zed"]).filter(pk=task.pk).exists()


def test_someone_elses_task_page_is_a_404_not_a_403(client, setup):
    people, task = setup
    client.force_login(people["zed"])
    assert client.get(reverse("tasks:task-detail", args=[task.pk])).status_code == 404
    assert client.post(reverse("tasks:task-complete", args=[task.pk])).status_code == 404


def test_someone_elses_task_in_the_api_is_a_404(setup):
    people, task = setup
    api = APIClient()
    api.force_authenticate(people["zed"])
    assert api.get(f"/api/v1/tasks/{task.pk}/").status_code == 404
    assert api.post(f"/api/v1/tasks/{task.pk}/claim/").status_code == 404


def test_a_group_member_finds_it_under_group_tasks_and_then_under_my_tasks(setup):
    people, task = setup
    gus = people["gus"]
    assert list(selectors.inbox_list(gus, selectors.InboxQuery(view="group"))) == [task]
    assert list(selectors.inbox_list(gus, selectors.InboxQuery(view="mine"))) == []
    services.task_claim(task_id=task.pk, user=gus)
    assert list(selectors.inbox_list(gus, selectors.InboxQuery(view="mine"))) == [task]
    assert list(selectors.inbox_list(gus, selectors.InboxQuery(view="group"))) == []


def test_the_all_view_is_for_administrators_only(setup):
    people, task = setup
    assert list(selectors.inbox_list(people["root"], selectors.InboxQuery(view="all"))) == [task]
    assert list(selectors.inbox_list(people["zed"], selectors.InboxQuery(view="all"))) == []


def test_the_inbox_filters_by_search_process_priority_and_overdue(setup):
    people, task = setup
    root = people["root"]

    def found(**query):
        return list(selectors.inbox_list(root, selectors.InboxQuery(view="all", **query)))

    assert found(search="B-9") == [task] and found(search="check") == [task] and found(search="zzz") == []
    assert found(process="tasks_process") == [task] and found(process="other") == []
    assert found(priority_min=50) == [task] and found(priority_min=51) == []
    assert found(overdue=True) == []


def test_the_inbox_page_lists_my_group_tasks_with_counts(client, setup):
    people, task = setup
    client.force_login(people["gus"])
    page = client.get(reverse("tasks:inbox") + "?view=group").content.decode()
    assert "Check" in page and "B-9" in page and "Group tasks (1)" in page


def test_the_inbox_page_needs_the_same_number_of_queries_for_one_task_and_for_six(client, setup):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    people, task = setup
    client.force_login(people["gus"])
    url = reverse("tasks:inbox") + "?view=group"
    client.get(url)  # warm: session, caches
    with CaptureQueriesContext(connection) as one:
        assert "Group tasks (1)" in client.get(url).content.decode()
    for number in range(5):
        start(task_process(TASK), business_key=f"more-{number}")
    with CaptureQueriesContext(connection) as six:
        assert "Group tasks (6)" in client.get(url).content.decode()
    assert len(six) == len(one) <= 14  # 12, and the saved filters with the groups to share them with


def test_the_api_completes_with_validated_data_and_answers_400_per_field(setup):
    people, _ = setup
    form = (
        '<bpmn:userTask id="f" camunda:candidateUsers="cara"><bpmn:extensionElements><camunda:formData>'
        '<camunda:formField id="n" type="long"><camunda:validation><camunda:constraint name="min" config="1"/>'
        "</camunda:validation></camunda:formField></camunda:formData></bpmn:extensionElements></bpmn:userTask>"
    )
    task = open_task(start(task_process(form, key="with_form")))
    api = APIClient()
    api.force_authenticate(people["cara"])
    bad = api.post(f"/api/v1/tasks/{task.pk}/complete/", {"data": {"n": 0}}, format="json")
    assert bad.status_code == 400 and "n" in bad.json()["errors"]
    good = api.post(f"/api/v1/tasks/{task.pk}/complete/", {"data": {"n": 3}}, format="json")
    assert good.status_code == 200 and good.json()["status"] == "completed"


def test_the_api_lists_claims_delegates_and_comments(setup):
    people, task = setup
    api = APIClient()
    api.force_authenticate(people["gus"])
    assert api.get("/api/v1/tasks/?view=group").json()["count"] == 1
    assert api.post(f"/api/v1/tasks/{task.pk}/claim/").json()["assignee"] == "gus"
    other = APIClient()
    other.force_authenticate(people["cara"])
    assert other.post(f"/api/v1/tasks/{task.pk}/claim/").status_code == 409
    assert api.post(f"/api/v1/tasks/{task.pk}/delegate/", {"user": "cara"}, format="json").json()["assignee"] == "cara"
    assert api.post(f"/api/v1/tasks/{task.pk}/comments/", {"text": "please check"}, format="json").status_code == 201
    assert api.get(f"/api/v1/tasks/{task.pk}/comments/").json()[0]["text"] == "please check"
    # an unknown user is named before rights are weighed: 400 with the field
    unknown = api.post(f"/api/v1/tasks/{task.pk}/delegate/", {"user": "nobody"}, format="json")
    assert unknown.status_code == 400 and "user" in unknown.json()["errors"]


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_twenty_candidates_completing_one_task_at_once_one_wins_and_the_others_get_a_conflict():
    racers = [user("cara")] + [user(f"clerk{n}", "clerks") for n in range(19)]
    task = open_task(start(task_process(TASK)))
    barrier = threading.Barrier(len(racers))
    outcomes: list = []

    def complete(person):
        try:
            barrier.wait(timeout=10)
            services.task_complete(task_id=task.pk, user=person, data={})
            outcomes.append("done")
        except (TaskNotOpen, TaskAlreadyClaimed):  # both are 409 conflicts
            outcomes.append("conflict")
        except Exception as exc:  # anything else is a failure of the rule
            outcomes.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=complete, args=(p,)) for p in racers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(outcomes) == ["conflict"] * (len(racers) - 1) + ["done"]
    task.refresh_from_db()
    assert task.instance.history.filter(kind="step_completed", element_id="t").count() == 1
    assert task.instance.history.filter(kind="instance_completed").count() == 1


def test_the_page_and_the_api_read_the_inbox_filters_alike(client, setup):
    from django.utils import timezone
    from rest_framework.test import APIClient

    people, task = setup
    client.force_login(people["root"])
    api = APIClient()
    api.force_authenticate(people["root"])

    def shown(spelling: str) -> tuple[bool, bool]:
        page = client.get(reverse("tasks:inbox") + f"?view=all&overdue={spelling}").content.decode()
        return "B-9" in page, api.get(f"/api/v1/tasks/?view=all&overdue={spelling}").json()["count"] == 1

    task.due_at = timezone.now() + timezone.timedelta(days=1)  # not overdue: filtered out
    task.save(update_fields=["due_at"])
    assert shown("1") == shown("true") == (False, False)
    task.due_at = timezone.now() - timezone.timedelta(days=1)
    task.save(update_fields=["due_at"])
    assert shown("1") == shown("true") == (True, True)
    assert selectors.InboxQuery.from_params({"overdue": "true", "priority": "x"}) == selectors.InboxQuery(overdue=True)


def test_completing_a_task_locks_its_instance_once(setup):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    people, task = setup
    with CaptureQueriesContext(connection) as captured:
        services.task_complete(task_id=task.pk, user=people["gus"], data={})
    locks = [q["sql"] for q in captured.captured_queries if "FOR UPDATE" in q["sql"]]
    assert len([q for q in locks if 'FROM "processes_processinstance"' in q]) == 1
    assert len([q for q in locks if 'FROM "tasks_humantask"' in q]) == 1


def test_a_candidate_s_claim_goes_out_with_the_completion_as_one_change_of_the_row(setup):
    from django.test.utils import CaptureQueriesContext

    from processes.models import HistoryEvent

    people, task = setup
    with CaptureQueriesContext(connection) as captured:
        services.task_complete(task_id=task.pk, user=people["gus"], data={})
    assert sum(q["sql"].count('UPDATE "tasks_humantask"') for q in captured.captured_queries) == 1
    task.refresh_from_db()
    assert task.status == "completed" and task.assignee == people["gus"] == task.completed_by
    assert task.claimed_at is not None and task.claimed_at <= task.completed_at
    kinds = list(
        HistoryEvent.objects.filter(instance_id=task.instance_id).order_by("pk").values_list("kind", flat=True)
    )
    assert kinds.index("task_claimed") < kinds.index("step_completed", kinds.index("step_entered"))


def test_the_api_lists_the_tasks_a_user_completed_with_status_completed(setup):
    people, task = setup
    api = APIClient()
    api.force_authenticate(people["gus"])
    api.post(f"/api/v1/tasks/{task.pk}/claim/")
    assert api.post(f"/api/v1/tasks/{task.pk}/complete/", {"data": {}}, format="json").status_code == 200
    assert api.get("/api/v1/tasks/").json()["count"] == 0  # open tasks, the default
    done = api.get("/api/v1/tasks/?status=completed").json()
    assert [(t["id"], t["status"]) for t in done["results"]] == [(task.pk, "completed")]
    other = APIClient()
    other.force_authenticate(people["cara"])
    assert other.get("/api/v1/tasks/?status=completed").json()["count"] == 0  # not hers


def test_an_unknown_task_status_is_a_400_naming_the_field(setup):
    people, _ = setup
    api = APIClient()
    api.force_authenticate(people["gus"])
    response = api.get("/api/v1/tasks/?status=finished")
    assert response.status_code == 400 and "status" in response.json()["errors"]
