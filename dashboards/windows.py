"""The time window of a dashboard or metrics request: the last N days, or a date range.

Pages and the API read the same parameters: ``days`` (1 to 3660, default 30), or ``since``
with an optional ``until``, each an ISO 8601 date (a whole day, ``until`` included) or
date-time.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from urllib.parse import urlencode

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from .selectors import Window

MAX_DAYS = 3660


class WindowError(ValueError):
    """A window parameter that cannot be used; ``field`` names it."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass
class Chosen:
    """A window as asked for: the figures' window, how to ask for it again, how to say it."""

    window: Window
    days: int | None = None
    since: str = ""
    until: str = ""

    @property
    def query(self) -> str:
        """The query string that asks for this window again (links, exports)."""
        if self.days is not None:
            return urlencode({"days": self.days})
        return urlencode({k: v for k, v in (("since", self.since), ("until", self.until)) if v})

    @property
    def label(self) -> str:
        if self.days is not None:
            return f"last {self.days} days"
        last = self.window.until - dt.timedelta(microseconds=1)
        return f"{timezone.localtime(self.window.since):%d %b %Y} – {timezone.localtime(last):%d %b %Y}"


def _moment(field: str, raw: str, *, end: bool) -> dt.datetime:
    """A date-time as given, or a date as the start of that day (for ``until``: of the next day)."""
    try:
        day = parse_date(raw)  # first: parse_datetime would read a date as its midnight
        moment = None if day else parse_datetime(raw)
    except ValueError:
        day = moment = None
    if day is not None:
        moment = dt.datetime.combine(day + dt.timedelta(days=1 if end else 0), dt.time.min)
    if moment is None:
        raise WindowError(field, "An ISO 8601 date or date-time, e.g. 2026-11-01 or 2026-11-01T08:00:00Z.")
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    try:
        return moment.astimezone(dt.UTC)
    except OverflowError:
        raise WindowError(field, "Out of range once converted to UTC.") from None


def window_from(params, now: dt.datetime | None = None) -> Chosen:
    """The window the query parameters ask for; WindowError names the field that is wrong."""
    since_raw, until_raw = (params.get("since") or "").strip(), (params.get("until") or "").strip()
    if since_raw:
        since = _moment("since", since_raw, end=False)
        until = _moment("until", until_raw, end=True) if until_raw else (now or timezone.now())
        if until <= since:
            raise WindowError("until", "The end of the window must come after its start.")
        if until - since > dt.timedelta(days=MAX_DAYS):
            raise WindowError("since", f"A window of at most {MAX_DAYS} days.")
        return Chosen(Window(since=since, until=until), since=since_raw, until=until_raw)
    if until_raw:
        raise WindowError("since", "Give since with until.")
    days = str(params.get("days") or "30").strip()
    if not days.isdigit() or not 0 < int(days) <= MAX_DAYS:
        raise WindowError("days", f"A whole number of days from 1 to {MAX_DAYS}.")
    return Chosen(Window.last(int(days), now=now), days=int(days))
