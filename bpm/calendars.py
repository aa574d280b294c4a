"""Working time: hours per weekday, holidays and a time zone, and adding a duration in it.

``P2D`` is two working days later at the same time of day (Friday 10:00 + P2D is Tuesday
10:00 with weekends off); hours, minutes and seconds use up working time only; months and
years move the calendar date first. A moment outside working hours starts at the next
working moment. Used by the processes that name a business calendar (ProcessSettings).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.relativedelta import relativedelta

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
OFFICE_HOURS = {day: (["09:00-17:00"] if day not in ("sat", "sun") else []) for day in DAYS}
_SPAN = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")
_MAX_DAYS_SEARCHED = 3660  # a calendar with no working day at all is refused before this


class CalendarError(ValueError):
    """A calendar that cannot be used, with the field at fault."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class WorkingTime:
    zone: ZoneInfo
    spans: tuple[tuple[tuple[time, time], ...], ...]  # per weekday, Monday first
    holidays: frozenset[date]

    @classmethod
    def build(cls, time_zone: str, hours: dict, holidays: list) -> WorkingTime:
        """From a calendar's stored fields; CalendarError names what is wrong."""
        try:
            zone = ZoneInfo(time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise CalendarError("time_zone", f"Unknown time zone '{time_zone}'.") from None
        spans = []
        for day in DAYS:
            day_spans = []
            for text in (hours or {}).get(day) or []:
                match = _SPAN.match(str(text).strip())
                if not match:
                    raise CalendarError("hours", f"{day}: '{text}' is not HH:MM-HH:MM.")
                h1, m1, h2, m2 = (int(g) for g in match.groups())
                start, end = time(h1, m1), (time(23, 59, 59) if h2 == 24 else time(h2, m2))
                if end <= start:
                    raise CalendarError("hours", f"{day}: '{text}' ends before it starts.")
                day_spans.append((start, end))
            spans.append(tuple(sorted(day_spans)))
        if not any(spans):
            raise CalendarError("hours", "A calendar needs working hours on at least one weekday.")
        try:
            days_off = frozenset(date.fromisoformat(str(d)) for d in holidays or [])
        except ValueError:
            raise CalendarError("holidays", "Holidays are dates, YYYY-MM-DD.") from None
        return cls(zone, tuple(spans), days_off)

    def _spans_of(self, day: date) -> tuple[tuple[time, time], ...]:
        return () if day in self.holidays else self.spans[day.weekday()]

    def _next_working_moment(self, local: datetime) -> datetime:
        day = local.date()
        for _ in range(_MAX_DAYS_SEARCHED):
            for start, end in self._spans_of(day):
                begin = datetime.combine(day, start, self.zone)
                finish = datetime.combine(day, end, self.zone)
                if local < finish:
                    return max(local, begin)
            day += timedelta(days=1)
            local = datetime.combine(day, time.min, self.zone)
        raise CalendarError("hours", "No working time within ten years.")

    def add(self, start: datetime, duration: relativedelta | timedelta) -> datetime:
        """``start`` plus ``duration`` in working time (see the module's docstring)."""
        if isinstance(duration, timedelta):
            duration = relativedelta(days=duration.days, seconds=duration.seconds)
        local = start.astimezone(self.zone)
        if duration.years or duration.months:
            local = local + relativedelta(years=duration.years, months=duration.months)
        moment = self._next_working_moment(local)
        for _ in range(int(duration.days)):
            day = moment.date() + timedelta(days=1)
            while not self._spans_of(day):
                day += timedelta(days=1)
            moment = self._next_working_moment(datetime.combine(day, moment.timetz().replace(tzinfo=None), self.zone))
        left = timedelta(hours=duration.hours, minutes=duration.minutes, seconds=duration.seconds)
        while left > timedelta(0):
            moment = self._next_working_moment(moment)
            span_end = next(
                datetime.combine(moment.date(), end, self.zone)
                for start_t, end in self._spans_of(moment.date())
                if datetime.combine(moment.date(), start_t, self.zone)
                <= moment
                < datetime.combine(moment.date(), end, self.zone)
            )
            step = min(left, span_end - moment)
            moment, left = moment + step, left - step
            if left > timedelta(0):
                moment = self._next_working_moment(moment + timedelta(microseconds=1))
        return moment
