"""Finding instances: by business key, process, status, a variable's value, who started
them and when. The instances page and the API's ``variable`` filter read it the same way."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Q, QuerySet
from django.utils import timezone

from bpm.exceptions import InvalidInput

from .choices import InstanceStatus
from .models import ProcessInstance
from .selectors import instances_visible_to


def variable_condition(text: str, prefix: str = "") -> Q:
    """``name:value``: the variable equals the value, read as JSON (5, true, "x") or else as text.
    ``prefix`` reaches the variables through a relation (``instance__`` from a task)."""
    name, sep, raw = text.partition(":")
    name = name.strip()
    if not sep or not name.isidentifier():
        raise InvalidInput("Give variable=name:value", details={"variable": ["Expected name:value, e.g. amount:900."]})
    try:
        value = json.loads(raw)
    except ValueError:
        value = raw
    return Q(**{f"{prefix}variables__{name}": value})


@dataclass
class InstanceQuery:
    """What the instances page was asked for; every field optional."""

    business_key: str = ""  # contains, any case
    process: str = ""  # a process key
    status: str = ""
    variable: str = ""  # name:value
    started_by: str = ""  # a username
    started_from: date | None = None
    started_to: date | None = None  # inclusive

    @classmethod
    def from_params(cls, params) -> InstanceQuery:
        return cls(
            business_key=params.get("business_key", "").strip(),
            process=params.get("process", "").strip(),
            status=params.get("status", "") if params.get("status", "") in InstanceStatus.values else "",
            variable=params.get("variable", "").strip(),
            started_by=params.get("started_by", "").strip(),
            started_from=_day(params.get("started_from", ""), "started_from"),
            started_to=_day(params.get("started_to", ""), "started_to"),
        )

    @property
    def is_empty(self) -> bool:
        return not any(vars(self).values())


def _day(text: str, field: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{field} is a date", details={field: ["A date, YYYY-MM-DD."]}) from None


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def instance_search(user, query: InstanceQuery) -> QuerySet[ProcessInstance]:
    """The instances the user may see that match, newest first."""
    qs = instances_visible_to(user)
    if query.business_key:
        qs = qs.filter(business_key__icontains=query.business_key)
    if query.process:
        qs = qs.filter(process_key=query.process)
    if query.status:
        qs = qs.filter(status=query.status)
    if query.variable:
        qs = qs.filter(variable_condition(query.variable))
    if query.started_by:
        qs = qs.filter(started_by__username=query.started_by)
    if query.started_from:
        qs = qs.filter(started_at__gte=_start_of(query.started_from))
    if query.started_to:
        qs = qs.filter(started_at__lt=_start_of(query.started_to + timedelta(days=1)))
    return qs.order_by("-started_at", "-id")
