"""A process on office hours meets its target cycle time by its working-time deadline."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bpm.calendars import OFFICE_HOURS
from dashboards import selectors
from processes import services
from processes.models import BusinessCalendar, ProcessInstance, ProcessSettings
from tests.processes.factories import bpmn, chain, deploy_one

pytestmark = pytest.mark.django_db

BERLIN = ZoneInfo("Europe/Berlin")
FRIDAY_10 = datetime(2026, 12, 4, 10, 0, tzinfo=BERLIN)
MONDAY_17 = datetime(2026, 12, 7, 17, 0, tzinfo=BERLIN)  # three days later in plain time


def _completed(key: str) -> None:
    instance = services.instance_start(definition=deploy_one(bpmn(key, chain('<bpmn:userTask id="t"/>'))))
    ProcessInstance.objects.filter(pk=instance.pk).update(status="completed", started_at=FRIDAY_10, ended_at=MONDAY_17)


def _on_time(key: str) -> float:
    window = selectors.Window(since=datetime(2026, 12, 1, tzinfo=BERLIN), until=datetime(2026, 12, 31, tzinfo=BERLIN))
    return selectors.process_figures(key, window)["on_time_rate"]


def test_two_days_over_a_weekend_are_on_time_in_office_hours():
    office = BusinessCalendar.objects.create(name="office", time_zone="Europe/Berlin", hours=OFFICE_HOURS)
    ProcessSettings.objects.create(key="leave", target_cycle_time="P2D", calendar=office)
    _completed("leave")
    assert _on_time("leave") == 1.0


def test_without_a_calendar_the_same_instance_is_late():
    ProcessSettings.objects.create(key="leave", target_cycle_time="P2D")
    _completed("leave")
    assert _on_time("leave") == 0.0
