"""camunda:asyncBefore / asyncAfter are transaction boundaries, as in Camunda: the command
commits there and a job goes on; the job's failures retry and then become an incident."""

import pytest
from django.utils import timezone

from processes import jobs, services
from processes.models import Incident, Job

from ..processes.factories import bpmn, chain, deploy_one

pytestmark = pytest.mark.django_db


def _waiting(instance):
    instance.refresh_from_db()
    return sorted(instance.waiting_steps.values_list("element_id", "kind"))


def _run_jobs(times=4):
    for _ in range(times):
        jobs.run_due_jobs(now=timezone.now() + timezone.timedelta(minutes=30))


BEFORE = bpmn(
    "async_before",
    chain(
        '<bpmn:scriptTask id="compute" camunda:asyncBefore="true"><bpmn:script>total = a + b</bpmn:script></bpmn:scriptTask>',
        '<bpmn:userTask id="review"/>',
    ),
)


def test_a_start_commits_before_an_async_before_task_and_its_job_runs_it():
    instance = services.instance_start(definition=deploy_one(BEFORE), variables={"a": 1, "b": 2})
    assert _waiting(instance) == [("compute", "async")]
    assert Job.objects.get(instance=instance).kind == "async"
    _run_jobs()
    assert _waiting(instance) == [("review", "user")]
    instance.refresh_from_db()
    assert instance.variables["total"] == 3


def test_a_failing_async_job_retries_then_becomes_an_incident_and_runs_once_fixed(settings):
    settings.BPM = {**settings.BPM, "JOB_RETRY_BASE_SECONDS": 0}
    instance = services.instance_start(definition=deploy_one(BEFORE), variables={"a": 1})
    assert instance.status == "running"  # the start committed before the failing step
    _run_jobs()
    assert _waiting(instance) == [("compute", "async")]
    incident = Incident.objects.get(instance=instance)
    assert incident.element_id == "compute" and "'b'" in incident.message
    services.instance_set_variables(instance_id=instance.pk, variables={"b": 41})
    services.incident_retry(incident_id=incident.pk)
    _run_jobs()
    assert _waiting(instance) == [("review", "user")]


AFTER = bpmn(
    "async_after",
    chain(
        '<bpmn:userTask id="enter" camunda:asyncAfter="true"/>',
        '<bpmn:scriptTask id="compute"><bpmn:script>total = a * 2</bpmn:script></bpmn:scriptTask>',
        '<bpmn:userTask id="review"/>',
    ),
)


def test_completing_a_task_with_async_after_commits_and_leaves_the_rest_to_a_job(settings):
    settings.BPM = {**settings.BPM, "JOB_RETRY_BASE_SECONDS": 0}
    instance = services.instance_start(definition=deploy_one(AFTER))
    step = instance.waiting_steps.get()
    # the continuation would fail (no 'a'), but that is the job's business, not the completion's
    instance = services.instance_complete_step(instance_id=instance.pk, spiff_task_id=str(step.spiff_task_id))
    assert _waiting(instance) == [("compute", "async")]
    assert instance.history.filter(kind="step_completed", element_id="enter").exists()
    services.instance_set_variables(instance_id=instance.pk, variables={"a": 5})
    _run_jobs()
    assert _waiting(instance) == [("review", "user")]
    instance.refresh_from_db()
    assert instance.variables["total"] == 10


def test_a_user_task_with_async_before_is_created_by_its_job():
    content = bpmn("async_user", chain('<bpmn:userTask id="approve" camunda:asyncBefore="true"/>'))
    instance = services.instance_start(definition=deploy_one(content))
    assert _waiting(instance) == [("approve", "async")]
    from tasks.models import HumanTask

    assert not HumanTask.objects.filter(instance=instance).exists()
    _run_jobs()
    assert _waiting(instance) == [("approve", "user")]
    assert HumanTask.objects.filter(instance=instance, status="open").count() == 1
