"""Timers as jobs: written with the state change, fired once, taken again when a worker died."""

from datetime import timedelta

import pytest
from django.utils import timezone

from processes import jobs, services
from processes.models import Job
from tasks.models import HumanTask
from tests.processes.factories import bpmn, deploy_one

pytestmark = pytest.mark.django_db


def flows(*pairs):
    return "".join(f'<bpmn:sequenceFlow id="f{i}" sourceRef="{a}" targetRef="{b}"/>' for i, (a, b) in enumerate(pairs))


WAIT = bpmn(
    "wait",
    '<bpmn:startEvent id="start"/><bpmn:intermediateCatchEvent id="pause"><bpmn:timerEventDefinition>'
    "<bpmn:timeDuration>PT2S</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>"
    '<bpmn:endEvent id="end"/>' + flows(("start", "pause"), ("pause", "end")),
)

BOUNDARY = bpmn(
    "reminder",
    '<bpmn:startEvent id="start"/><bpmn:userTask id="work" name="Work"/>'
    '<bpmn:boundaryEvent id="too_late" attachedToRef="work"><bpmn:timerEventDefinition>'
    "<bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent>"
    '<bpmn:endEvent id="done"/><bpmn:endEvent id="timed_out"/>'
    + flows(("start", "work"), ("work", "done"), ("too_late", "timed_out")),
)


def test_a_timer_is_a_job_due_when_the_timer_is():
    instance = services.instance_start(definition=deploy_one(WAIT))
    job = Job.objects.get(instance=instance)
    assert (job.kind, job.element_id, job.status) == ("timer", "pause", "pending")
    assert timezone.now() < job.due_at <= timezone.now() + timedelta(seconds=3)


def test_a_job_is_not_taken_before_it_is_due():
    services.instance_start(definition=deploy_one(WAIT))
    assert jobs.run_due_jobs() == 0


def test_a_due_timer_fires_once_and_the_instance_moves_on():
    instance = services.instance_start(definition=deploy_one(WAIT))
    later = timezone.now() + timedelta(seconds=5)
    assert jobs.run_due_jobs(now=later) == 1
    assert jobs.run_due_jobs(now=later) == 0
    instance.refresh_from_db()
    assert instance.status == "completed"
    assert instance.history.filter(kind="step_completed", element_id="pause").count() == 1
    assert Job.objects.get(instance=instance).status == "done"


def test_a_boundary_timer_interrupts_its_user_task():
    instance = services.instance_start(definition=deploy_one(BOUNDARY))
    assert HumanTask.objects.get(instance=instance).status == "open"
    jobs.run_due_jobs(now=timezone.now() + timedelta(hours=2))
    instance.refresh_from_db()
    assert instance.status == "completed"
    assert instance.history.filter(element_id="timed_out").exists()
    assert HumanTask.objects.get(instance=instance).status == "cancelled"


def test_completing_the_task_first_removes_its_boundary_timer_job():
    instance = services.instance_start(definition=deploy_one(BOUNDARY))
    step = instance.waiting_steps.get(kind="user")
    services.instance_complete_step(instance_id=instance.pk, spiff_task_id=str(step.spiff_task_id))
    assert not Job.objects.filter(instance=instance, status="pending").exists()


def test_a_job_whose_worker_died_is_taken_again_after_its_lock_expires_and_runs_once():
    instance = services.instance_start(definition=deploy_one(WAIT))
    due = timezone.now() + timedelta(seconds=5)
    dead_token, ids = jobs.jobs_acquire(now=due, lock_seconds=60)  # the worker dies before running it
    assert len(ids) == 1
    assert jobs.jobs_acquire(now=due + timedelta(seconds=30))[1] == []  # still locked
    token, again = jobs.jobs_acquire(now=due + timedelta(seconds=61))
    assert again == ids and token != dead_token
    assert jobs.job_execute(job_id=ids[0], token=dead_token) == "skipped"
    assert jobs.job_execute(job_id=ids[0], token=token) == "done"
    instance.refresh_from_db()
    assert instance.status == "completed"
    assert instance.history.filter(kind="step_completed", element_id="pause").count() == 1


def test_running_a_timer_job_twice_is_harmless():
    instance = services.instance_start(definition=deploy_one(WAIT))
    job = Job.objects.get(instance=instance)
    assert services.instance_fire_timer(instance_id=instance.pk, spiff_task_id=str(job.spiff_task_id)) is True
    assert services.instance_fire_timer(instance_id=instance.pk, spiff_task_id=str(job.spiff_task_id)) is False


CYCLE_START = bpmn(
    "every_day",
    '<bpmn:startEvent id="daily"><bpmn:timerEventDefinition><bpmn:timeCycle>R3/2026-01-01T09:00:00Z/P1D</bpmn:timeCycle>'
    '</bpmn:timerEventDefinition></bpmn:startEvent><bpmn:userTask id="check" name="Daily check"/><bpmn:endEvent id="end"/>'
    + flows(("daily", "check"), ("check", "end")),
)


def test_a_cycle_timer_start_event_starts_exactly_the_scheduled_number_of_instances():
    from processes.models import ProcessInstance

    definition = deploy_one(CYCLE_START)
    job = Job.objects.get(kind="start_timer")
    assert job.due_at.isoformat() == "2026-01-01T09:00:00+00:00"
    for day in range(6):  # the clock runs past all three due times, one day at a time
        jobs.run_due_jobs(now=job.due_at + timedelta(days=day, minutes=1))
    instances = ProcessInstance.objects.filter(definition=definition)
    assert instances.count() == 3
    assert all(i.waiting_steps.get().element_id == "check" for i in instances)
    assert not Job.objects.filter(kind="start_timer", status="pending").exists()


def test_deploying_a_new_version_moves_the_schedule_to_it():
    deploy_one(CYCLE_START)
    v2 = deploy_one(CYCLE_START.replace(b"Daily check", b"Daily check v2"))
    assert list(Job.objects.filter(kind="start_timer", status="pending").values_list("definition", flat=True)) == [
        v2.pk
    ]


CYCLE_BOUNDARY = bpmn(
    "nag",
    '<bpmn:startEvent id="start"/><bpmn:userTask id="work" name="Work"/>'
    '<bpmn:boundaryEvent id="remind" attachedToRef="work" cancelActivity="false"><bpmn:timerEventDefinition>'
    "<bpmn:timeCycle>R2/PT1H</bpmn:timeCycle></bpmn:timerEventDefinition></bpmn:boundaryEvent>"
    '<bpmn:scriptTask id="count"><bpmn:script>reminders = reminders + 1 if "reminders" in vars() else 1</bpmn:script></bpmn:scriptTask>'
    '<bpmn:endEvent id="done"/><bpmn:endEvent id="reminded"/>'
    + flows(("start", "work"), ("work", "done"), ("remind", "count"), ("count", "reminded")),
)


def test_a_non_interrupting_cycle_timer_fires_each_cycle_and_leaves_the_task_open():
    instance = services.instance_start(definition=deploy_one(CYCLE_BOUNDARY))
    for hour in (2, 4, 6):
        jobs.run_due_jobs(now=timezone.now() + timedelta(hours=hour))
    instance.refresh_from_db()
    assert instance.history.filter(kind="step_completed", element_id="count").count() == 2
    assert HumanTask.objects.get(instance=instance).status == "open"


EVENT_GATEWAY = bpmn(
    "pay_or_expire",
    '<bpmn:startEvent id="start"/><bpmn:eventBasedGateway id="gw"/>'
    '<bpmn:intermediateCatchEvent id="paid"><bpmn:messageEventDefinition messageRef="m"/></bpmn:intermediateCatchEvent>'
    '<bpmn:intermediateCatchEvent id="expired"><bpmn:timerEventDefinition><bpmn:timeDuration>PT1H</bpmn:timeDuration>'
    "</bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>"
    '<bpmn:endEvent id="end_paid"/><bpmn:endEvent id="end_expired"/>'
    + flows(("start", "gw"), ("gw", "paid"), ("gw", "expired"), ("paid", "end_paid"), ("expired", "end_expired")),
    extra='<bpmn:message id="m" name="payment"/>\n',
)


def test_an_event_based_gateway_takes_the_timer_branch_when_its_timer_fires_first():
    instance = services.instance_start(definition=deploy_one(EVENT_GATEWAY))
    assert Job.objects.get(instance=instance).element_id == "expired"
    jobs.run_due_jobs(now=timezone.now() + timedelta(hours=2))
    instance.refresh_from_db()
    assert instance.status == "completed"
    assert instance.history.filter(element_id="end_expired").exists()
    assert not instance.history.filter(element_id="end_paid").exists()


def test_an_event_based_gateway_drops_its_timer_job_when_the_message_comes_first():
    instance = services.instance_start(definition=deploy_one(EVENT_GATEWAY))
    services.message_correlate(message_name="payment")
    assert not Job.objects.filter(instance=instance, status="pending").exists()
    instance.refresh_from_db()
    assert instance.history.filter(element_id="end_paid").exists()


def test_an_instance_started_by_a_timer_carries_its_process_key_for_the_dashboards():
    from processes.models import ProcessInstance

    definition = deploy_one(CYCLE_START)
    job = Job.objects.get(kind="start_timer")
    jobs.run_due_jobs(now=job.due_at + timedelta(minutes=1))
    assert list(ProcessInstance.objects.values_list("process_key", flat=True)) == [definition.key]
