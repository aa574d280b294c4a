"""Which working time a process or a timer uses: the business calendars named in the
process settings or on a timer, read once per configuration token (bpm.config)."""

from __future__ import annotations

from bpm import config
from bpm.calendars import WorkingTime

from .models import BusinessCalendar, ProcessSettings


def _build(row) -> WorkingTime | None:
    return WorkingTime.build(*row) if row else None


def working_time_named(name: str) -> WorkingTime | None:
    """The calendar of that name, or None when there is none."""
    row = config.cached(
        "calendar",
        name,
        lambda: BusinessCalendar.objects.filter(name=name).values_list("time_zone", "hours", "holidays").first(),
    )
    return _build(row)


def working_time_of_process(key: str) -> WorkingTime | None:
    """The calendar the process's settings name, or None (plain time)."""
    row = config.cached(
        "process_calendar",
        key,
        lambda: (
            ProcessSettings.objects.filter(key=key, calendar__isnull=False)
            .values_list("calendar__time_zone", "calendar__hours", "calendar__holidays")
            .first()
        ),
    )
    return _build(row)
