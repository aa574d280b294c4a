"""Timer start events: when the next instance is due, and scheduling it as a job.

A timer start event's expression is a date (one start), a duration (one start, that long
after the version became active) or a cycle (``R3/2026-01-01T09:00/P1D``: three starts a
day apart; ``R/PT1H``: every hour from now). Exactly one pending ``start_timer`` job
exists per timer start event of the active version; running it starts an instance and
schedules the next one in the same transaction, so each due time starts one instance
whatever the number of workers.
"""

from __future__ import annotations

import re
from datetime import datetime

from django.utils import timezone

from bpm.cron import looks_like_cron, next_fire
from bpm.durations import parse_duration

from .choices import JobKind
from .models import Job, JobStatus, ProcessDefinition

_CYCLE = re.compile(r"^R(?P<count>\d*)/(?:(?P<start>[^/P][^/]*)/)?(?P<period>P[^/]+)$")


def _parse_datetime(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if timezone.is_aware(value) else timezone.make_aware(value)


def first_occurrence(timer: dict, now: datetime) -> tuple[datetime, int] | None:
    """(first due time, starts remaining after it; -1 for unbounded) or None when it cannot be read."""
    expression = (timer.get("expression") or "").strip()
    kind = timer.get("kind")
    try:
        if kind == "timeDate":
            return _parse_datetime(expression), 0
        if kind == "timeDuration":
            delta = parse_duration(expression)
            return (now + delta, 0) if delta is not None else None
        if looks_like_cron(expression):
            return next_fire(expression, now), -1
        match = _CYCLE.match(expression)
        if not match:
            return None
        count = int(match.group("count")) if match.group("count") else -1
        start = (
            _parse_datetime(match.group("start"))
            if match.group("start")
            else now + parse_duration(match.group("period"))
        )
        return start, (count - 1 if count > 0 else -1)
    except (ValueError, TypeError):  # CronError is a ValueError
        return None


def next_occurrence(timer: dict, previous: datetime) -> datetime | None:
    expression = (timer.get("expression") or "").strip()
    if looks_like_cron(expression):
        return next_fire(expression, previous)
    match = _CYCLE.match(expression)
    if not match:
        return None
    delta = parse_duration(match.group("period"))
    return previous + delta if delta is not None else None


def schedule_definition(definition: ProcessDefinition, now: datetime | None = None) -> list[Job]:
    """Replace the start-timer jobs of the key with those of this (now active) version."""
    now = now or timezone.now()
    Job.objects.filter(kind=JobKind.START_TIMER, status=JobStatus.PENDING, definition__key=definition.key).delete()
    jobs = []
    for element_id, element in (definition.elements or {}).items():
        if element.get("type") != "startEvent" or "timer" not in element:
            continue
        first = first_occurrence(element["timer"], now)
        if first is None:
            continue
        due, remaining = first
        jobs.append(
            Job(kind=JobKind.START_TIMER, definition=definition, element_id=element_id, due_at=due, remaining=remaining)
        )
    return Job.objects.bulk_create(jobs)
