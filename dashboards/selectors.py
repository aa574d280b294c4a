"""SLA figures for process owners, computed by the database (aggregates grouped in SQL,
never Python loops over rows), restricted to the processes the user owns."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import connection
from django.db.models import Avg, Case, Count, F, FloatField, Q, Sum, Value, When
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, TruncDate, TruncWeek
from django.utils import timezone

from bpm.calendars import WorkingTime
from bpm.durations import parse_duration
from processes.models import Incident, ProcessDefinition, ProcessInstance, ProcessSettings, WaitingStep
from processes.selectors import _keys_with_object_perm
from tasks.models import HumanTask

from .aggregates import Percentile, percentile, seconds_between

OWN = "processes.own_process"
OVERDUE_PILE = 3  # overdue tasks that make a person count as overloaded


@dataclass
class Window:
    """Instances started in [since, until); defaults: the last 30 days."""

    since: datetime
    until: datetime

    @classmethod
    def last(cls, days: int = 30, now: datetime | None = None) -> Window:
        now = now or timezone.now()
        return cls(since=now - timedelta(days=days), until=now)


def owned_keys(user) -> list[str]:
    """The process keys whose figures the user may see: owned ones (administrators: all)."""
    if not getattr(user, "is_authenticated", False):
        return []
    if user.is_superuser or user.has_perm("tasks.view_all_tasks"):
        return sorted(set(ProcessDefinition.objects.values_list("key", flat=True)))
    return sorted(set(_keys_with_object_perm(user, [OWN]).values_list("key", flat=True)))


def process_names(keys: list[str]) -> dict[str, str]:
    """Each key's name as its newest version has it (one query)."""
    rows = ProcessDefinition.objects.filter(key__in=keys).order_by("key", "version").values_list("key", "name")
    return {key: name for key, name in rows if name}


def target_seconds(key: str) -> float | None:
    return targets_seconds([key]).get(key)


def targets_seconds(keys: list[str]) -> dict[str, float]:
    """The target cycle time of each key that has one, in seconds (one query)."""
    targets = {}
    now = timezone.now()
    rows = ProcessSettings.objects.filter(key__in=keys).exclude(target_cycle_time="")
    for key, setting in rows.values_list("key", "target_cycle_time"):
        delta = parse_duration(setting)
        if delta is not None:
            targets[key] = ((now + delta) - now).total_seconds()  # a P1M target is a month from now
    return targets


def _working_targets(keys: list[str]) -> dict:
    """key -> (working time, target period) for the processes whose settings name a calendar."""
    if not keys:
        return {}
    found = {}
    rows = ProcessSettings.objects.filter(key__in=keys, calendar__isnull=False).exclude(target_cycle_time="")
    for key, target, zone, hours, holidays in rows.values_list(
        "key", "target_cycle_time", "calendar__time_zone", "calendar__hours", "calendar__holidays"
    ):
        period = parse_duration(target)
        if period is not None:
            found[key] = (WorkingTime.build(zone, hours, holidays), period)
    return found


def _cycle_rows(completed, targets: dict[str, float], by: str | None = None) -> dict:
    """Cycle-time aggregates of completed instances: one row in all (key None) or one per
    value of the field ``by``; ``met`` counts those at or under their process's target
    (equal: on time), when any of them has one."""
    cycled = completed.annotate(cycle=seconds_between("started_at", "ended_at"))
    aggregates = {
        "n": Count("id"),
        "avg": Avg("cycle"),
        "median": Percentile("cycle", 0.5),
        "p95": Percentile("cycle", 0.95),
    }
    in_working_time = _working_targets(list(targets))  # counted below, instance by instance
    plain = {key: seconds for key, seconds in targets.items() if key not in in_working_time}
    if targets:
        target = Case(
            *[When(process_key=key, then=Value(seconds)) for key, seconds in plain.items()],
            default=None,
            output_field=FloatField(),
        )
        cycled = cycled.annotate(target=target)
        aggregates["met"] = Count("id", filter=Q(cycle__lte=F("target")))
    if by is None:
        rows = {None: cycled.aggregate(**aggregates)}
    else:
        rows = {row[by]: row for row in cycled.values(by).annotate(**aggregates).order_by()}
    for key, (working, period) in in_working_time.items():
        # a process on a business calendar meets its target by its deadline in working time
        group_by = by or "process_key"
        for group, started, ended in completed.filter(process_key=key).values_list(group_by, "started_at", "ended_at"):
            row = rows.get(group if by else None)
            if row is not None and ended <= working.add(started, period):
                row["met"] = (row.get("met") or 0) + 1
    if connection.vendor != "postgresql":  # SQLite has no percentile: from the values
        for group, row in rows.items():
            if row["n"]:
                values = list((cycled if by is None else cycled.filter(**{by: group})).values_list("cycle", flat=True))
                row["median"], row["p95"] = percentile(values, 0.5), percentile(values, 0.95)
    return rows


def _cycle_figures(row: dict, target: float | None) -> dict:
    n = row.get("n") or 0
    return {
        "completed": n,
        "cycle_avg_s": row.get("avg"),
        "cycle_median_s": row.get("median"),
        "cycle_p95_s": row.get("p95"),
        "target_s": target,
        "on_time_rate": row["met"] / n if target is not None and n else None,
    }


def process_figures(key: str, window: Window, version: int | None = None, now: datetime | None = None) -> dict:
    """One process (optionally one version) over a window: counts by status, cycle times
    against the target, started and completed per day, open and overdue tasks, incidents."""
    return figures_by_process([key], window, version=version, now=now)[key]


def figures_by_process(
    keys: list[str], window: Window, version: int | None = None, now: datetime | None = None
) -> dict[str, dict]:
    """``process_figures`` for many processes at once: each figure is one query grouped by
    process key, so the overview costs the same for 3 processes or 300."""
    now = now or timezone.now()
    targets = targets_seconds(keys)
    instances = ProcessInstance.objects.filter(process_key__in=keys)
    tasks = HumanTask.objects.filter(process_key__in=keys, status="open")
    incidents = Incident.objects.filter(instance__process_key__in=keys, resolved_at__isnull=True)
    if version is not None:
        instances = instances.filter(definition__version=version)
        tasks = tasks.filter(definition__version=version)
        incidents = incidents.filter(instance__definition__version=version)
    started = instances.filter(started_at__gte=window.since, started_at__lt=window.until)
    completed = instances.filter(status="completed", ended_at__gte=window.since, ended_at__lt=window.until)

    def grouped(queryset, field: str) -> dict[str, dict]:
        """Counts per process key and value of ``field``."""
        out: dict[str, dict] = {}
        for key, value, n in queryset.values_list("process_key", field).annotate(n=Count("id")).order_by():
            out.setdefault(key, {})[value] = n
        return out

    by_status = grouped(started, "status")
    per_day_started = grouped(started.annotate(day=TruncDate("started_at")), "day")
    per_day_completed = grouped(completed.annotate(day=TruncDate("ended_at")), "day")
    cycles = _cycle_rows(completed, targets, by="process_key")
    task_counts = {
        row["process_key"]: row
        for row in tasks.values("process_key")
        .annotate(open=Count("id"), overdue=Count("id", filter=Q(due_at__lt=now)))
        .order_by()
    }
    open_incidents = dict(incidents.values_list("instance__process_key").annotate(n=Count("id")).order_by())
    names = process_names(keys)
    figures = {}
    for key in keys:
        statuses, starts, ends = by_status.get(key, {}), per_day_started.get(key, {}), per_day_completed.get(key, {})
        tasks_of = task_counts.get(key, {})
        figures[key] = {
            "key": key,
            "name": names.get(key) or key,
            "version": version,
            "since": window.since,
            "until": window.until,
            "started": sum(statuses.values()),
            "running": statuses.get("running", 0),
            "completed_of_started": statuses.get("completed", 0),
            "failed": statuses.get("error", 0),
            "cancelled": statuses.get("cancelled", 0),
            "suspended": statuses.get("suspended", 0),
            **_cycle_figures(cycles.get(key, {}), targets.get(key)),
            "open_tasks": tasks_of.get("open", 0),
            "overdue_tasks": tasks_of.get("overdue", 0),
            "open_incidents": open_incidents.get(key, 0),
            "per_day": [
                {"day": day, "started": starts.get(day, 0), "completed": ends.get(day, 0)}
                for day in sorted(set(starts) | set(ends))
            ],
        }
    return figures


def version_figures(key: str, window: Window) -> list[dict]:
    """Every version of one process side by side, newest first: instances started in the
    window by status, and completions with cycle times and the on-time rate (grouped queries)."""
    instances = ProcessInstance.objects.filter(process_key=key)
    started = instances.filter(started_at__gte=window.since, started_at__lt=window.until)
    counts: dict[int, dict] = {}
    for version, state, n in started.values_list("definition__version", "status").annotate(n=Count("id")).order_by():
        counts.setdefault(version, {})[state] = n
    targets = targets_seconds([key])
    completed = instances.filter(status="completed", ended_at__gte=window.since, ended_at__lt=window.until)
    cycles = _cycle_rows(completed, targets, by="definition__version")
    versions = set(ProcessDefinition.objects.filter(key=key).values_list("version", flat=True))
    rows = []
    for version in sorted(versions | set(counts) | set(cycles), reverse=True):  # a new version shows at 0
        by_status = counts.get(version, {})
        figures = _cycle_figures(cycles.get(version, {}), targets.get(key))
        rows.append(
            {
                "version": version,
                "started": sum(by_status.values()),
                "running": by_status.get("running", 0),
                "failed": by_status.get("error", 0),
                "cancelled": by_status.get("cancelled", 0),
                **{k: v for k, v in figures.items() if k != "target_s"},
            }
        )
    return rows


def overview(user, window: Window, now: datetime | None = None) -> list[dict]:
    """The figures of every process the user owns."""
    return list(figures_by_process(owned_keys(user), window, now=now).values())


def step_figures(key: str, window: Window, version: int | None = None) -> list[dict]:
    """Per user/manual step: how many passed, waiting (created to claimed) and working
    (claimed to completed) time, average and 95th percentile, breaches; slowest first."""
    tasks = HumanTask.objects.filter(
        process_key=key, status="completed", completed_at__gte=window.since, completed_at__lt=window.until
    )
    if version is not None:
        tasks = tasks.filter(definition__version=version)
    waiting = seconds_between("created_at", "claimed_at")
    working = seconds_between("claimed_at", "completed_at")
    total = seconds_between("created_at", "completed_at")
    rows = list(
        tasks.annotate(waiting=waiting, working=working, total=total)
        .values("element_id", "name")
        .annotate(
            passed=Count("id"),
            waiting_avg_s=Avg("waiting"),
            waiting_p95_s=Percentile("waiting", 0.95),
            working_avg_s=Avg("working"),
            working_p95_s=Percentile("working", 0.95),
            total_p95_s=Percentile("total", 0.95),
            breaches=Count("id", filter=Q(sla_breached=True)),
        )
        .order_by()
    )
    if connection.vendor != "postgresql":
        for row in rows:
            mine = tasks.filter(element_id=row["element_id"]).annotate(waiting=waiting, working=working, total=total)
            for name in ("waiting", "working", "total"):
                values = [v for v in mine.values_list(name, flat=True) if v is not None]
                row[f"{name}_p95_s"] = percentile(values, 0.95)
    rows.sort(key=lambda r: r["total_p95_s"] or 0, reverse=True)  # the bottleneck first
    return rows


def node_heat(key: str, window: Window, version: int | None = None) -> dict[str, dict]:
    """Per BPMN element: completions in the window, their average duration (from when the
    element began waiting to its completion) and the tokens waiting there now (the heat overlay)."""
    from processes.models import HistoryEvent

    events = HistoryEvent.objects.filter(
        definition__key=key, kind="step_completed", created_at__gte=window.since, created_at__lt=window.until
    )
    waiting = WaitingStep.objects.filter(instance__process_key=key)
    if version is not None:
        events = events.filter(definition__version=version)
        waiting = waiting.filter(instance__definition__version=version)
    heat: dict[str, dict] = {}

    def node(element_id: str) -> dict:
        return heat.setdefault(element_id, {"completed": 0, "avg_duration_s": None, "waiting": 0})

    # history written before durations were recorded has none: the average is over those that have
    duration = Cast(KeyTextTransform("duration_s", "data"), FloatField())
    for element_id, n, avg in events.values_list("element_id").annotate(n=Count("id"), avg=Avg(duration)).order_by():
        node(element_id).update(completed=n, avg_duration_s=avg)
    for element_id, n in waiting.values_list("element_id").annotate(n=Count("id")).order_by():
        node(element_id)["waiting"] = n
    return heat


def workload(user, window: Window, now: datetime | None = None) -> dict:
    """Open and overdue tasks per person and per group, completed in the window and the
    average time to complete, and completions per week (in total and per person, aligned
    with ``weeks``), over the processes the user owns; ``overloaded`` marks who to relieve."""
    now = now or timezone.now()
    keys = owned_keys(user)
    open_tasks = HumanTask.objects.filter(process_key__in=keys, status="open")
    per_person = list(
        open_tasks.filter(assignee__isnull=False)
        .values("assignee__username")
        .annotate(open=Count("id"), overdue=Count("id", filter=Q(due_at__lt=now)))
        .order_by("-open", "assignee__username")
    )
    done = HumanTask.objects.filter(
        process_key__in=keys, status="completed", completed_at__gte=window.since, completed_at__lt=window.until
    )
    # One grouped query gives the completions and time taken per person and week; the
    # totals per person and per week are sums of it (the week's also counts tasks no one completed).
    weekly: dict[date, list[float]] = {}  # week -> [completed, seconds taken]
    mine: dict[str, dict[date, list[float]]] = {}
    for name, week, n, taken in (
        done.annotate(week=TruncWeek("completed_at"))
        .values_list("completed_by__username", "week")
        .annotate(n=Count("id"), taken=Sum(seconds_between("created_at", "completed_at")))
        .order_by()
    ):
        week, taken = _day(week), taken or 0.0
        sums = [weekly.setdefault(week, [0, 0.0])]
        if name:
            sums.append(mine.setdefault(name, {}).setdefault(week, [0, 0.0]))
        for totals in sums:
            totals[0] += n
            totals[1] += taken
    per_week = [
        {"week": week, "completed": n, "avg_complete_s": taken / n} for week, (n, taken) in sorted(weekly.items())
    ]
    people = [{"user": r.pop("assignee__username"), **r} for r in per_person]
    people += [{"user": name, "open": 0, "overdue": 0} for name in sorted(set(mine) - {p["user"] for p in people})]
    busy = [p["open"] for p in people if p["open"]]
    average_open = sum(busy) / len(busy) if busy else 0
    for person in people:
        weeks = mine.get(person["user"], {})
        n, taken = sum(w[0] for w in weeks.values()), sum(w[1] for w in weeks.values())
        person.update(
            completed=n,
            avg_complete_s=taken / n if n else None,
            per_week=[weeks.get(w["week"], [0])[0] for w in per_week],
            # twice the open work of the average person who has any, or overdue work piling
            # up (three or more); with one person there is no one to compare with
            overloaded=(len(busy) > 1 and person["open"] >= 2 * average_open) or person["overdue"] >= OVERDUE_PILE,
        )
    per_group = list(
        open_tasks.filter(assignee__isnull=True, candidates__group_name__gt="")
        .values("candidates__group_name")
        .annotate(open=Count("id", distinct=True), overdue=Count("id", filter=Q(due_at__lt=now), distinct=True))
        .order_by("-open")
    )
    return {
        "people": people,
        "groups": [{"group": r.pop("candidates__group_name"), **r} for r in per_group],
        "weeks": per_week,
    }


def _day(moment) -> date:
    """A truncated week as its Monday (a date whatever the database returned)."""
    return moment.date() if isinstance(moment, datetime) else moment
