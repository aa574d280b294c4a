"""A process that uses office hours: its tasks' due dates and the timers that ask for a
calendar are counted in working time; P2D over a weekend is not a breach."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from bpm.calendars import OFFICE_HOURS
from processes import services
from processes.models import BusinessCalendar, Job, ProcessSettings
from tasks.models import HumanTask

from .factories import bpmn, chain, deploy_one

pytestmark = pytest.mark.django_db

BERLIN = ZoneInfo("Europe/Berlin")
FRIDAY_10 = datetime(2026, 12, 4, 10, 0, tzinfo=BERLIN)
TASK = bpmn("leave", chain('<bpmn:userTask id="approve" camunda:dueDate="P2D"/>'))


@pytest.fixture
def office():
    return BusinessCalendar.objects.create(name="office", time_zone="Europe/Berlin", hours=OFFICE_HOURS)


def _start_at(moment, monkeypatch, content):
    monkeypatch.setattr(timezone, "now", lambda: moment)
    return services.instance_start(definition=deploy_one(content))


def test_a_task_due_in_two_days_from_a_friday_is_due_on_tuesday_with_office_hours(office, monkeypatch):
    ProcessSettings.objects.create(key="leave", calendar=office)
    instance = _start_at(FRIDAY_10, monkeypatch, TASK)
    due = HumanTask.objects.get(instance=instance).due_at
    assert due == datetime(2026, 12, 8, 10, 0, tzinfo=BERLIN)


def test_without_a_calendar_due_dates_stay_in_plain_time(office, monkeypatch):
    instance = _start_at(FRIDAY_10, monkeypatch, TASK)
    assert HumanTask.objects.get(instance=instance).due_at == FRIDAY_10 + timedelta(days=2)


def test_the_default_due_period_is_counted_in_working_time_too(office, monkeypatch):
    ProcessSettings.objects.create(key="plain", calendar=office, default_task_due="PT8H")
    instance = _start_at(FRIDAY_10, monkeypatch, bpmn("plain", chain('<bpmn:userTask id="t"/>')))
    assert HumanTask.objects.get(instance=instance).due_at == datetime(2026, 12, 7, 10, 0, tzinfo=BERLIN)


TIMED = bpmn(
    "timed",
    chain(
        '<bpmn:intermediateCatchEvent id="wait"><bpmn:extensionElements><camunda:properties>'
        '<camunda:property name="calendar" value="{name}"/></camunda:properties></bpmn:extensionElements>'
        "<bpmn:timerEventDefinition><bpmn:timeDuration>PT2H</bpmn:timeDuration></bpmn:timerEventDefinition>"
        "</bpmn:intermediateCatchEvent>"
    ),
)


def test_a_timer_that_asks_for_a_calendar_comes_due_in_its_working_time():
    # one working hour a day: two hours of it are at least a day away, never two hours
    BusinessCalendar.objects.create(
        name="thin", time_zone="UTC", hours={d: ["10:00-11:00"] for d in OFFICE_HOURS}, holidays=[]
    )
    before = timezone.now()
    instance = services.instance_start(definition=deploy_one(TIMED.replace(b"{name}", b"thin")))
    job = Job.objects.get(instance=instance)
    step = instance.waiting_steps.get(element_id="wait")
    assert job.due_at == step.due_at
    assert job.due_at - before > timedelta(hours=20)
    assert job.due_at.astimezone(ZoneInfo("UTC")).hour in (10, 11)


def test_a_timer_naming_a_calendar_that_does_not_exist_is_refused_at_deploy():
    from processes.exceptions import DefinitionInvalidError
    from processes.models import ProcessDefinition

    with pytest.raises(DefinitionInvalidError) as refused:
        deploy_one(TIMED.replace(b"{name}", b"nowhere"))
    (problem,) = refused.value.details
    assert problem["element_id"] == "wait" and "'nowhere'" in problem["message"]
    assert not ProcessDefinition.objects.exists()


def test_a_calendar_deleted_after_deploy_fails_the_command_naming_the_timer():
    from processes.exceptions import CommandFailed
    from processes.models import ProcessInstance

    gone = BusinessCalendar.objects.create(name="gone", time_zone="UTC", hours=OFFICE_HOURS)
    definition = deploy_one(TIMED.replace(b"{name}", b"gone"))
    gone.delete()
    with pytest.raises(CommandFailed) as failed:
        services.instance_start(definition=definition)
    assert "'gone'" in str(failed.value) and failed.value.element_id == "wait"
    assert not ProcessInstance.objects.exists()


def test_the_compatibility_report_says_the_calendar_property_is_this_engines_own():
    BusinessCalendar.objects.create(name="office", time_zone="UTC", hours=OFFICE_HOURS)
    notes = services.definition_deploy(files=[("t.bpmn", TIMED.replace(b"{name}", b"office"))]).compatibility
    assert any(n["element_id"] == "wait" and "Camunda 7 ignores" in n["effect"] for n in notes)


def test_a_calendar_with_bad_hours_is_refused_on_save_naming_the_field():
    calendar = BusinessCalendar(name="bad", time_zone="Europe/Berlin", hours={"mon": ["9 to 5"]})
    with pytest.raises(ValidationError) as refused:
        calendar.full_clean()
    assert "hours" in refused.value.message_dict
