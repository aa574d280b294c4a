"""Quartz cron expressions, as Camunda 7 accepts them in timer cycles
(``0 0/5 * * * ?``: every five minutes; ``0 15 10 ? * MON-FRI``: 10:15 on weekdays).

Fields: seconds, minutes, hours, day of month, month, day of week, and an optional year;
each ``*``, ``?`` (no value), a number or name, a range ``a-b``, a list ``a,b`` and a step
``a/n`` or ``*/n``. ``L``, ``W`` and ``#`` are refused (``CronError``) rather than guessed.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

_MONTHS = {m: i for i, m in enumerate("JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC".split(), 1)}
_DAYS = {d: i for i, d in enumerate("SUN MON TUE WED THU FRI SAT".split(), 1)}  # Quartz: 1 = Sunday
_LIMITS = [(0, 59), (0, 59), (0, 23), (1, 31), (1, 12), (1, 7), (1970, 2199)]
_NAMES = "JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC|SUN|MON|TUE|WED|THU|FRI|SAT"
_FIELD = rf"(?:[0-9*?/,\-#LW]|{_NAMES})+"
_SHAPE = re.compile(rf"^\s*{_FIELD}(?:\s+{_FIELD}){{5,6}}\s*$", re.IGNORECASE)


class CronError(ValueError):
    """Text that is not a Quartz cron expression this module reads."""


def looks_like_cron(text: str) -> bool:
    """Six or seven fields of cron characters (digits, * ? / , - and month or day names)."""
    return bool(_SHAPE.match(text or ""))


def _value(token: str, index: int) -> int:
    names = _MONTHS if index == 4 else _DAYS if index == 5 else {}
    token = token.upper()
    if token in names:
        return names[token]
    if not token.isdigit():
        raise CronError(f"Cannot read {token!r} in a cron expression")
    return int(token)


def _field(text: str, index: int) -> set[int] | None:
    """The allowed values of a field; None for '?' (no constraint from this field)."""
    low, high = _LIMITS[index]
    if text == "?":
        if index not in (3, 5):
            raise CronError("'?' is allowed only for day of month or day of week")
        return None
    allowed: set[int] = set()
    for part in text.split(","):
        if (
            any(c in part.upper() for c in ("L", "W", "#"))
            and part.upper() not in _DAYS
            and part.upper() not in _MONTHS
        ):
            raise CronError(f"Cron feature in {part!r} is not supported (L, W and # are not)")
        step = 1
        if "/" in part:
            part, step_text = part.split("/", 1)
            step = int(step_text)
            if step < 1:
                raise CronError("A cron step must be at least 1")
        if part in ("*", ""):
            start, end = low, high
        elif "-" in part:
            first, last = part.split("-", 1)
            start, end = _value(first, index), _value(last, index)
        else:
            start = _value(part, index)
            end = high if "/" in text else start
        if not (low <= start <= high and low <= end <= high):
            raise CronError(f"{part!r} is out of range for this cron field")
        allowed.update(range(start, end + 1, step))
    return allowed


class Cron:
    def __init__(self, expression: str):
        parts = expression.split()
        if len(parts) not in (6, 7):
            raise CronError("A Quartz cron expression has six or seven fields")
        fields = [_field(part, i) for i, part in enumerate(parts)]
        self.seconds, self.minutes, self.hours, self.days, self.months, self.weekdays = fields[:6]
        self.years = fields[6] if len(fields) == 7 else None
        if self.days is None and self.weekdays is None:
            raise CronError("Day of month and day of week cannot both be '?'")

    def _day_matches(self, moment: datetime) -> bool:
        quartz_weekday = (moment.isoweekday() % 7) + 1  # Sunday = 1
        day_ok = self.days is None or moment.day in self.days
        weekday_ok = self.weekdays is None or quartz_weekday in self.weekdays
        return day_ok and weekday_ok

    def next_after(self, moment: datetime) -> datetime:
        """The first fire time strictly after ``moment`` (its time zone kept)."""
        candidate = moment.replace(microsecond=0) + timedelta(seconds=1)
        limit = candidate + timedelta(days=366 * 5)
        while candidate < limit:
            if (self.years is not None and candidate.year not in self.years) or candidate.month not in self.months:
                candidate = (candidate.replace(day=1, hour=0, minute=0, second=0) + timedelta(days=32)).replace(day=1)
                continue
            if not self._day_matches(candidate):
                candidate = candidate.replace(hour=0, minute=0, second=0) + timedelta(days=1)
                continue
            if candidate.hour not in self.hours:
                candidate = candidate.replace(minute=0, second=0) + timedelta(hours=1)
                continue
            if candidate.minute not in self.minutes:
                candidate = candidate.replace(second=0) + timedelta(minutes=1)
                continue
            if candidate.second not in self.seconds:
                candidate += timedelta(seconds=1)
                continue
            return candidate
        raise CronError("The cron expression never fires in the next five years")


def next_fire(expression: str, after: datetime) -> datetime:
    return Cron(expression).next_after(after)
