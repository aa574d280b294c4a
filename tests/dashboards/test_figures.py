"""Every dashboard figure against numbers worked out by hand on a small fixed history."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from guardian.shortcuts import assign_perm
from rest_framework.test import APIClient

from dashboards import selectors
from processes.models import ProcessInstance, ProcessSettings
from tasks.models import HumanTask
from tests.processes.factories import bpmn, chain, deploy_one
from tests.tasks.factories import user

pytestmark = pytest.mark.django_db

HOUR = 3600.0
NOW = timezone.now().replace(microsecond=0)


@pytest.fixture
def history():
    """Six completed instances of 2, 4, 6, 8, 10 and 12 hours against a 10-hour target;
    one running, one failed, one cancelled; two finished approvals and one check; two open tasks."""
    definition = deploy_one(bpmn("sla", chain('<bpmn:userTask id="approve" name="Approve"/>')))
    ProcessSettings.objects.create(key="sla", target_cycle_time="PT10H")

    def instance(status, hours=None, started_days_ago=2):
        started = NOW - timedelta(days=started_days_ago)
        row = ProcessInstance.objects.create(definition=definition, process_key="sla", status=status)
        ended = started + timedelta(hours=hours) if hours is not None else None
        ProcessInstance.objects.filter(pk=row.pk).update(started_at=started, ended_at=ended)
        return row

    completed = [instance("completed", h) for h in (2, 4, 6, 8, 10, 12)]
    instance("running")
    instance("error")
    instance("cancelled")
    instance("completed", 1, started_days_ago=90)  # outside the window

    ann = user("ann")

    def task(element, name, waiting_h, working_h, breached=False, status="completed", due=None):
        created = NOW - timedelta(days=1)
        row = HumanTask.objects.create(
            instance=completed[0], definition=definition, process_key="sla", spiff_task_id=uuid.uuid4(),
            element_id=element, name=name, status=status, sla_breached=breached, due_at=due,
            assignee=ann, completed_by=ann if status == "completed" else None,
        )  # fmt: skip
        claimed = created + timedelta(hours=waiting_h) if waiting_h is not None else None
        done = claimed + timedelta(hours=working_h) if status == "completed" else None
        HumanTask.objects.filter(pk=row.pk).update(created_at=created, claimed_at=claimed, completed_at=done)

    task("approve", "Approve", 1, 2)
    task("approve", "Approve", 3, 1, breached=True)
    task("check", "Check", 0.5, 0.5)
    task("approve", "Approve", None, None, status="open", due=NOW - timedelta(hours=1))
    task("approve", "Approve", None, None, status="open", due=NOW + timedelta(days=1))
    return definition


def figures():
    return selectors.process_figures("sla", selectors.Window.last(30, now=NOW), now=NOW)


def test_instances_are_counted_by_status_within_the_window(history):
    f = figures()
    assert (f["started"], f["running"], f["failed"], f["cancelled"]) == (9, 1, 1, 1)


def test_cycle_time_average_median_and_p95_are_the_hand_computed_ones(history):
    f = figures()
    assert f["completed"] == 6
    assert f["cycle_avg_s"] == pytest.approx(7 * HOUR)
    assert f["cycle_median_s"] == pytest.approx(7 * HOUR)
    assert f["cycle_p95_s"] == pytest.approx(11.5 * HOUR)  # 10 h + 0.75 x (12 h - 10 h)


def test_a_cycle_exactly_at_the_target_counts_as_on_time(history):
    f = figures()
    assert f["target_s"] == 10 * HOUR
    assert f["on_time_rate"] == pytest.approx(5 / 6)


def test_open_and_overdue_tasks_are_counted(history):
    f = figures()
    assert (f["open_tasks"], f["overdue_tasks"]) == (2, 1)


def test_started_and_completed_are_counted_per_day(history):
    days = {row["day"]: row for row in figures()["per_day"]}
    start_day = (NOW - timedelta(days=2)).date()
    assert days[start_day]["started"] == 9
    assert sum(row["completed"] for row in days.values()) == 6


def test_steps_are_ranked_slowest_first_with_waiting_and_working_times(history):
    approve, check = selectors.step_figures("sla", selectors.Window.last(30, now=NOW))
    assert (approve["element_id"], approve["passed"], approve["breaches"]) == ("approve", 2, 1)
    assert approve["waiting_avg_s"] == pytest.approx(2 * HOUR)
    assert approve["waiting_p95_s"] == pytest.approx(2.9 * HOUR)  # 1 h + 0.95 x (3 h - 1 h)
    assert approve["working_avg_s"] == pytest.approx(1.5 * HOUR)
    assert approve["working_p95_s"] == pytest.approx(1.95 * HOUR)
    assert approve["total_p95_s"] == pytest.approx(3.95 * HOUR)
    assert (check["element_id"], check["total_p95_s"]) == ("check", pytest.approx(1 * HOUR))


def test_an_owner_gets_the_figures_through_the_api_and_others_get_nothing(history):
    owner, stranger = user("olga"), user("sam")
    assign_perm("processes.own_process", owner, history)
    api = APIClient()
    api.force_authenticate(owner)
    overview = api.get("/api/v1/metrics/overview").json()["processes"]
    assert [p["key"] for p in overview] == ["sla"] and overview[0]["completed"] == 6
    detail = api.get("/api/v1/metrics/processes/sla").json()
    assert [s["element_id"] for s in detail["steps"]] == ["approve", "check"]
    api.force_authenticate(stranger)
    assert api.get("/api/v1/metrics/overview").json()["processes"] == []
    assert api.get("/api/v1/metrics/processes/sla").status_code == 404


def test_a_bad_window_is_a_400_naming_the_field(history, admin_user):
    api = APIClient()
    api.force_authenticate(admin_user)
    response = api.get("/api/v1/metrics/overview", {"days": "0"})
    assert response.status_code == 400 and "days" in response.json()["errors"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"since": "yesterday"}, "since"),
        ({"since": "2026-11-20", "until": "2026-11-19"}, "until"),
        ({"until": "2026-11-19"}, "since"),
        ({"since": "2000-01-01", "until": "2026-11-19"}, "since"),  # longer than 3660 days
    ],
)
def test_a_bad_date_range_is_a_400_naming_the_field(history, admin_user, params, field):
    api = APIClient()
    api.force_authenticate(admin_user)
    response = api.get("/api/v1/metrics/overview", params)
    assert response.status_code == 400 and field in response.json()["errors"]


def test_a_date_range_through_the_api_counts_the_instances_started_in_it(history, admin_user):
    api = APIClient()
    api.force_authenticate(admin_user)
    day = (NOW - timedelta(days=2)).date().isoformat()
    (sla,) = api.get("/api/v1/metrics/overview", {"since": day, "until": day}).json()["processes"]
    assert sla["started"] == 9
    (as_times,) = api.get("/api/v1/metrics/overview", {"since": f"{day}T00:00:00Z", "until": day}).json()["processes"]
    assert as_times["started"] == 9


def test_workload_counts_open_overdue_and_completed_per_person(history, admin_user):
    people = selectors.workload(admin_user, selectors.Window.last(30, now=NOW), now=NOW)["people"]
    (ann,) = people
    assert (ann["user"], ann["open"], ann["overdue"], ann["completed"]) == ("ann", 2, 1, 3)
    # created a day ago; completed after 3 h, 4 h and 1 h
    assert ann["avg_complete_s"] == pytest.approx((3 + 4 + 1) / 3 * HOUR)


def test_without_a_target_there_is_no_on_time_rate(history):
    from processes.models import ProcessSettings

    ProcessSettings.objects.filter(key="sla").update(target_cycle_time="")
    f = figures()
    assert (f["target_s"], f["on_time_rate"], f["completed"]) == (None, None, 6)


def test_the_heat_of_a_node_averages_the_recorded_durations_and_counts_waiting_tokens(history):
    from processes.models import HistoryEvent, WaitingStep

    running = ProcessInstance.objects.get(process_key="sla", status="running")
    for seconds in (600, 1800, None):  # history from before durations were recorded has none
        HistoryEvent.objects.create(
            instance=running, definition=history, kind="step_completed", element_id="approve",
            data={} if seconds is None else {"duration_s": seconds},
        )  # fmt: skip
    HistoryEvent.objects.filter(instance=running).update(created_at=NOW - timedelta(hours=1))
    WaitingStep.objects.create(instance=running, spiff_task_id=uuid.uuid4(), element_id="approve", kind="user")
    heat = selectors.node_heat("sla", selectors.Window.last(30, now=NOW))
    assert heat["approve"] == {"completed": 3, "avg_duration_s": pytest.approx(1200), "waiting": 1}


def test_workload_counts_completions_per_week_in_total_and_per_person(admin_user):
    definition = deploy_one(bpmn("weekly", chain('<bpmn:userTask id="t" name="Do"/>')))
    instance = ProcessInstance.objects.create(definition=definition, process_key="weekly", status="running")
    ann, bob = user("ann"), user("bob")
    this_monday = timezone.localtime(NOW).replace(hour=10, minute=0, second=0) - timedelta(days=NOW.weekday())
    weeks = [this_monday - timedelta(days=14), this_monday - timedelta(days=7)]
    for who, done_at in [(ann, weeks[0]), (ann, weeks[1]), (bob, weeks[1] + timedelta(days=2))]:
        task = HumanTask.objects.create(
            instance=instance, definition=definition, process_key="weekly", spiff_task_id=uuid.uuid4(),
            element_id="t", name="Do", status="completed", assignee=who, completed_by=who,
        )  # fmt: skip
        HumanTask.objects.filter(pk=task.pk).update(created_at=done_at - timedelta(hours=2), completed_at=done_at)
    data = selectors.workload(admin_user, selectors.Window.last(30, now=NOW), now=NOW)
    assert [(w["week"], w["completed"]) for w in data["weeks"]] == [(weeks[0].date(), 1), (weeks[1].date(), 2)]
    assert data["weeks"][1]["avg_complete_s"] == pytest.approx(2 * HOUR)
    assert {p["user"]: p["per_week"] for p in data["people"]} == {"ann": [1, 1], "bob": [0, 1]}


def test_versions_are_compared_side_by_side_newest_first(history):
    second = deploy_one(bpmn("sla", chain('<bpmn:userTask id="approve" name="Approve fast"/>')))
    started = NOW - timedelta(days=1)
    for hours in (1, 3):
        row = ProcessInstance.objects.create(definition=second, process_key="sla", status="completed")
        ProcessInstance.objects.filter(pk=row.pk).update(started_at=started, ended_at=started + timedelta(hours=hours))
    newer, older = selectors.version_figures("sla", selectors.Window.last(30, now=NOW))
    assert (newer["version"], newer["started"], newer["completed"], newer["on_time_rate"]) == (2, 2, 2, 1.0)
    assert newer["cycle_median_s"] == pytest.approx(2 * HOUR) and newer["cycle_p95_s"] == pytest.approx(2.9 * HOUR)
    assert (older["version"], older["started"], older["completed"], older["failed"]) == (1, 9, 6, 1)
    assert older["cycle_p95_s"] == pytest.approx(11.5 * HOUR) and older["on_time_rate"] == pytest.approx(5 / 6)


def test_someone_with_twice_the_average_open_work_or_three_overdue_is_marked_overloaded(admin_user):
    definition = deploy_one(bpmn("load", chain('<bpmn:userTask id="t" name="Do"/>')))
    instance = ProcessInstance.objects.create(definition=definition, process_key="load", status="running")
    late = NOW - timedelta(hours=1)
    # open: ann 6, bob 1, cid 1, dan 3 (average 2.75: ann has twice that); dan's 3 are all overdue
    for name, n, due in [("ann", 6, None), ("bob", 1, None), ("cid", 1, None), ("dan", 3, late)]:
        person = user(name)
        for _ in range(n):
            HumanTask.objects.create(
                instance=instance, definition=definition, process_key="load", spiff_task_id=uuid.uuid4(),
                element_id="t", name="Do", status="open", assignee=person, due_at=due,
            )  # fmt: skip
    people = selectors.workload(admin_user, selectors.Window.last(30, now=NOW), now=NOW)["people"]
    assert {p["user"]: p["overloaded"] for p in people} == {"ann": True, "bob": False, "cid": False, "dan": True}


def test_the_overview_asks_the_same_number_of_queries_for_one_process_or_three():
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    owner = user("olga")
    for key, target, hours in [("a", "PT2H", (1, 3)), ("b", "PT4H", (1, 3)), ("c", "", (5,))]:
        definition = deploy_one(bpmn(key, chain('<bpmn:userTask id="t"/>')), name=f"{key}.bpmn")
        ProcessSettings.objects.create(key=key, target_cycle_time=target)
        for h in hours:
            row = ProcessInstance.objects.create(definition=definition, process_key=key, status="completed")
            started = NOW - timedelta(days=1)
            ProcessInstance.objects.filter(pk=row.pk).update(started_at=started, ended_at=started + timedelta(hours=h))
        assign_perm("processes.own_process", owner, definition)
        if key == "a":
            selectors.overview(owner, selectors.Window.last(30, now=NOW), now=NOW)  # the user's role rights, cached
            with CaptureQueriesContext(connection) as one:
                (alone,) = selectors.overview(owner, selectors.Window.last(30, now=NOW), now=NOW)
    with CaptureQueriesContext(connection) as three:
        figures = {f["key"]: f for f in selectors.overview(owner, selectors.Window.last(30, now=NOW), now=NOW)}
    assert len(three) == len(one)
    # each process against its own target: a 1 of 2 within 2 h, b 2 of 2 within 4 h, c none set
    assert [figures[k]["on_time_rate"] for k in "abc"] == [0.5, 1.0, None]
    assert alone["on_time_rate"] == 0.5 and figures["c"]["cycle_median_s"] == pytest.approx(5 * HOUR)
