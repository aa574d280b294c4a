"""Commands are atomic, as in Camunda: a step that fails in the steps a command runs rolls the
whole command back, and the caller is told which element failed and why."""

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from processes import jobs, services
from processes.exceptions import CommandFailed
from processes.models import Incident, Job, ProcessInstance

from ..processes.factories import bpmn, chain, deploy_one

pytestmark = pytest.mark.django_db

GATED = bpmn(
    "gated",
    '<bpmn:startEvent id="start"/><bpmn:userTask id="review"/>'
    '<bpmn:exclusiveGateway id="decide"/><bpmn:endEvent id="yes"/><bpmn:endEvent id="no"/>'
    '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review"/>'
    '<bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="decide"/>'
    '<bpmn:sequenceFlow id="to_yes" sourceRef="decide" targetRef="yes">'
    "<bpmn:conditionExpression>${approved}</bpmn:conditionExpression></bpmn:sequenceFlow>"
    '<bpmn:sequenceFlow id="to_no" sourceRef="decide" targetRef="no">'
    "<bpmn:conditionExpression>${!approved}</bpmn:conditionExpression></bpmn:sequenceFlow>",
)


@pytest.fixture
def api(admin_user):
    client = APIClient()
    client.force_authenticate(admin_user)
    return client


def _step(instance, element_id):
    return instance.waiting_steps.get(element_id=element_id)


def test_a_failing_condition_after_a_task_leaves_the_task_open_and_the_instance_running():
    instance = services.instance_start(definition=deploy_one(GATED))
    step = _step(instance, "review")
    with pytest.raises(CommandFailed) as failed:
        services.instance_complete_step(instance_id=instance.pk, spiff_task_id=str(step.spiff_task_id), data={})
    assert failed.value.element_id == "decide"
    assert "approved" in failed.value.cause
    instance.refresh_from_db()
    assert instance.status == "running"
    assert list(instance.waiting_steps.values_list("element_id", flat=True)) == ["review"]
    assert not instance.history.filter(kind="step_completed", element_id="review").exists()
    instance = services.instance_complete_step(
        instance_id=instance.pk, spiff_task_id=str(step.spiff_task_id), data={"approved": True}
    )
    assert instance.status == "completed"


def test_completing_a_task_over_the_api_answers_422_naming_the_element_and_the_cause(api):
    instance = services.instance_start(definition=deploy_one(GATED))
    from tasks.models import HumanTask

    task = HumanTask.objects.get(instance=instance)
    response = api.post(f"/api/v1/tasks/{task.pk}/complete/", {"data": {}}, format="json")
    assert response.status_code == 422, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "command_failed"
    assert body["errors"]["element_id"] == "decide" and "approved" in body["errors"]["cause"]
    task.refresh_from_db()
    assert task.status == "open"


def test_a_start_whose_first_steps_fail_creates_nothing_and_answers_422(api):
    deploy_one(
        bpmn("divides", chain('<bpmn:scriptTask id="boom"><bpmn:script>x = 1 / 0</bpmn:script></bpmn:scriptTask>'))
    )
    response = api.post("/api/v1/instances/", {"definition_key": "divides"}, format="json")
    assert response.status_code == 422, response.content
    assert response.json()["errors"]["element_id"] == "boom"
    assert "ZeroDivisionError" in response.json()["errors"]["cause"]
    assert not ProcessInstance.objects.exists()


TIMED = bpmn(
    "timed_division",
    chain(
        '<bpmn:intermediateCatchEvent id="wait"><bpmn:timerEventDefinition><bpmn:timeDuration>PT1M'
        "</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>",
        '<bpmn:scriptTask id="divide"><bpmn:script>share = total / parts</bpmn:script></bpmn:scriptTask>',
        '<bpmn:userTask id="after"/>',
    ),
)


def _run_jobs_until_settled(minutes_ahead: int = 60) -> None:
    for _ in range(5):
        jobs.run_due_jobs(now=timezone.now() + timezone.timedelta(minutes=minutes_ahead))


def test_a_timer_whose_continuation_fails_retries_then_raises_an_incident_and_keeps_waiting(settings):
    settings.BPM = {**settings.BPM, "JOB_RETRY_BASE_SECONDS": 0}
    instance = services.instance_start(definition=deploy_one(TIMED), variables={"total": 10, "parts": 0})
    _run_jobs_until_settled()
    instance.refresh_from_db()
    assert instance.status == "running"
    assert list(instance.waiting_steps.values_list("element_id", flat=True)) == ["wait"]
    job = Job.objects.get(instance=instance, element_id="wait")
    assert job.status == "failed" and job.attempts == 3
    assert "ZeroDivisionError" in Incident.objects.get(instance=instance).message


def test_an_incident_is_retried_after_the_variables_are_fixed_and_the_failed_step_runs_again(settings):
    settings.BPM = {**settings.BPM, "JOB_RETRY_BASE_SECONDS": 0}
    instance = services.instance_start(definition=deploy_one(TIMED), variables={"total": 10, "parts": 0})
    _run_jobs_until_settled()
    instance = services.instance_set_variables(instance_id=instance.pk, variables={"parts": 2})
    assert instance.status == "running"
    services.incident_retry(incident_id=Incident.objects.get(instance=instance).pk)
    _run_jobs_until_settled()
    instance.refresh_from_db()
    assert instance.variables["share"] == 5
    assert list(instance.waiting_steps.values_list("element_id", flat=True)) == ["after"]


def test_changing_variables_does_not_resume_a_suspended_instance():
    instance = services.instance_start(definition=deploy_one(GATED))
    services.instance_suspend(instance_id=instance.pk)
    instance = services.instance_set_variables(instance_id=instance.pk, variables={"approved": True})
    assert instance.status == "suspended"


def test_the_task_page_shows_a_failed_completion_next_to_the_form_and_keeps_what_was_typed(client, admin_user):
    content = bpmn(
        "typed_gate",
        '<bpmn:startEvent id="start"/><bpmn:userTask id="review"><bpmn:extensionElements><camunda:formData>'
        '<camunda:formField id="note" type="string"/></camunda:formData></bpmn:extensionElements></bpmn:userTask>'
        '<bpmn:exclusiveGateway id="decide"/><bpmn:endEvent id="yes"/>'
        '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review"/>'
        '<bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="decide"/>'
        '<bpmn:sequenceFlow id="to_yes" sourceRef="decide" targetRef="yes">'
        "<bpmn:conditionExpression>${approved}</bpmn:conditionExpression></bpmn:sequenceFlow>",
    )
    instance = services.instance_start(definition=deploy_one(content))
    from tasks.models import HumanTask

    task = HumanTask.objects.get(instance=instance)
    client.force_login(admin_user)
    response = client.post(f"/tasks/{task.pk}/complete/", {"note": "looks fine"})
    assert response.status_code == 422
    page = response.content.decode()
    assert 'id="command-error"' in page and "decide" in page and "approved" in page
    assert 'value="looks fine"' in page
    task.refresh_from_db()
    assert task.status == "open"


def test_a_start_refused_on_the_page_says_why_and_keeps_what_was_typed(client, admin_user):
    definition = deploy_one(
        bpmn(
            "page_divides",
            chain('<bpmn:scriptTask id="boom"><bpmn:script>x = 1 / parts</bpmn:script></bpmn:scriptTask>'),
        )
    )
    client.force_login(admin_user)
    response = client.post(
        f"/processes/definitions/{definition.pk}/start/", {"business_key": "PO-9", "variables": '{"parts": 0}'}
    )
    assert response.status_code == 422
    page = response.content.decode()
    assert "boom" in page and "ZeroDivisionError" in page
    assert "PO-9" in page and "parts" in page
    assert not ProcessInstance.objects.exists()
