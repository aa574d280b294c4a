"""SLA escalation: steps relative to a task's due date, recorded in the history."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from processes import jobs, services
from processes.models import Job, ProcessSettings
from tasks.models import HumanTask
from tests.processes.factories import bpmn, deploy_one
from tests.tasks.factories import user

pytestmark = pytest.mark.django_db

POLICY = [
    {"before": "PT1H", "action": "remind"},
    {"after": "PT0S", "action": "notify_assignee"},
    {"after": "PT2H", "action": "raise_priority", "by": 30},
    {"after": "PT4H", "action": "reassign", "group": "Team Lead"},
]


def task_process(extra_attrs: str = "", properties: str = "") -> bytes:
    ext = (
        f"<bpmn:extensionElements><camunda:properties>{properties}</camunda:properties></bpmn:extensionElements>"
        if properties
        else ""
    )
    body = (
        f'<bpmn:startEvent id="start"/><bpmn:userTask id="work" name="Work" camunda:assignee="ann" camunda:dueDate="PT8H" {extra_attrs}>{ext}</bpmn:userTask>'
        '<bpmn:endEvent id="end"/><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work"/><bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end"/>'
    )
    return bpmn("sla", body)


def run_at(hours: float):
    jobs.run_due_jobs(now=timezone.now() + timedelta(hours=hours))


def test_the_policy_of_the_process_settings_runs_step_by_step_around_the_due_date():
    user("ann")
    ProcessSettings.objects.create(key="sla", escalation_policy=POLICY)
    instance = services.instance_start(definition=deploy_one(task_process()))
    task = HumanTask.objects.get(instance=instance)
    assert Job.objects.filter(kind="escalation").count() == 5  # the policy's four, and the overdue notice
    run_at(7.5)  # one hour before due: the reminder
    task.refresh_from_db()
    assert (task.escalation_level, task.sla_breached) == (0, False)
    run_at(8.5)  # due passed: notify the assignee, breach recorded
    task.refresh_from_db()
    assert (task.escalation_level, task.sla_breached) == (1, True)
    run_at(12.5)  # priority raised, then the task goes to the escalation group
    task.refresh_from_db()
    assert task.priority == 80 and task.assignee is None
    assert list(task.candidates.values_list("group_name", flat=True)) == ["Team Lead"]
    kinds = list(
        instance.history.filter(kind__in=["task_reminded", "task_escalated"]).values_list("kind", "data__action")
    )
    assert kinds == [
        ("task_reminded", "remind"),
        ("task_escalated", "notify_assignee"),
        ("task_escalated", "raise_priority"),
        ("task_escalated", "reassign"),
    ]


def test_completing_the_task_in_time_drops_its_escalation_steps():
    user("ann")
    ProcessSettings.objects.create(key="sla", escalation_policy=POLICY)
    instance = services.instance_start(definition=deploy_one(task_process()))
    step = instance.waiting_steps.get()
    services.instance_complete_step(instance_id=instance.pk, spiff_task_id=str(step.spiff_task_id))
    run_at(24)
    assert not instance.history.filter(kind="task_escalated").exists()
    assert not HumanTask.objects.get(instance=instance).sla_breached


def test_a_task_property_policy_can_trigger_a_bpmn_escalation_boundary_event():
    user("ann")
    policy = json.dumps([{"after": "PT1H", "action": "bpmn_escalation", "code": "LATE"}]).replace('"', "&quot;")
    body = (
        '<bpmn:startEvent id="start"/>'
        f'<bpmn:userTask id="work" name="Work" camunda:assignee="ann" camunda:dueDate="PT8H"><bpmn:extensionElements><camunda:properties>'
        f'<camunda:property name="escalation.policy" value="{policy}"/></camunda:properties></bpmn:extensionElements></bpmn:userTask>'
        '<bpmn:boundaryEvent id="late" attachedToRef="work" cancelActivity="false"><bpmn:escalationEventDefinition escalationRef="esc"/></bpmn:boundaryEvent>'
        '<bpmn:userTask id="chase" name="Chase the late task"/><bpmn:endEvent id="end"/><bpmn:endEvent id="end2"/>'
        '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work"/><bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end"/>'
        '<bpmn:sequenceFlow id="f3" sourceRef="late" targetRef="chase"/><bpmn:sequenceFlow id="f4" sourceRef="chase" targetRef="end2"/>'
    )
    content = bpmn("sla_bpmn", body, extra='<bpmn:escalation id="esc" name="Late" escalationCode="LATE"/>\n')
    instance = services.instance_start(definition=deploy_one(content))
    run_at(9.5)
    names = set(HumanTask.objects.filter(instance=instance, status="open").values_list("element_id", flat=True))
    assert names == {"work", "chase"}


def test_tasks_without_a_due_date_get_the_process_default():
    ProcessSettings.objects.create(key="nodue", default_task_due="P2D")
    body = (
        '<bpmn:startEvent id="start"/><bpmn:userTask id="t"/><bpmn:endEvent id="end"/>'
        '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="t"/><bpmn:sequenceFlow id="f2" sourceRef="t" targetRef="end"/>'
    )
    instance = services.instance_start(definition=deploy_one(bpmn("nodue", body)))
    task = HumanTask.objects.get(instance=instance)
    assert timedelta(days=1, hours=23) < task.due_at - timezone.now() <= timedelta(days=2)
