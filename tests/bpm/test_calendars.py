"""Working time: a duration added in office hours, weekends and holidays off."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bpm.calendars import OFFICE_HOURS, CalendarError, WorkingTime
from bpm.durations import parse_duration

BERLIN = ZoneInfo("Europe/Berlin")
OFFICE = WorkingTime.build("Europe/Berlin", OFFICE_HOURS, ["2026-12-25"])


def _at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=BERLIN)


@pytest.mark.parametrize(
    ("start", "duration", "due"),
    [
        (_at(4, 10), "P2D", _at(8, 10)),  # Friday + two working days: Tuesday, same time
        (_at(4, 10), "PT8H", _at(7, 10)),  # a working day of hours: Monday
        (_at(5, 12), "PT1H", _at(7, 10)),  # from a Saturday: counted from Monday 09:00
        (_at(24, 16), "PT2H", _at(28, 10)),  # over a holiday (the 25th) and a weekend
        (_at(4, 18), "P1D", _at(8, 9)),  # after hours: from Monday 09:00, one day on
    ],
)
def test_a_duration_is_added_in_working_time(start, duration, due):
    assert OFFICE.add(start, parse_duration(duration)) == due


def test_a_lunch_break_is_not_working_time():
    split = WorkingTime.build("Europe/Berlin", {"mon": ["09:00-12:00", "13:00-17:00"]}, [])
    assert split.add(_at(7, 11), parse_duration("PT2H")) == _at(7, 14)


@pytest.mark.parametrize(
    ("zone", "hours", "holidays", "field"),
    [
        ("Mars/Olympus", OFFICE_HOURS, [], "time_zone"),
        ("Europe/Berlin", {"mon": ["9-17"]}, [], "hours"),
        ("Europe/Berlin", {"mon": ["17:00-09:00"]}, [], "hours"),
        ("Europe/Berlin", {}, [], "hours"),
        ("Europe/Berlin", OFFICE_HOURS, ["Christmas"], "holidays"),
    ],
)
def test_a_calendar_that_cannot_work_is_refused_naming_the_field(zone, hours, holidays, field):
    with pytest.raises(CalendarError) as refused:
        WorkingTime.build(zone, hours, holidays)
    assert refused.value.field == field
