"""SLA escalation of human tasks: a policy of steps relative to the due date (docs/SLA.md).

A policy is a list of steps, from the task's `escalation.policy` property (JSON) or the
process settings:

    [{"before": "PT2H", "action": "remind"},
     {"after": "PT0S", "action": "notify_assignee"},
     {"after": "PT4H", "action": "notify_owner"},
     {"after": "PT8H", "action": "reassign", "group": "Team Lead"},
     {"after": "P1D", "action": "raise_priority", "by": 20},
     {"after": "P1D", "action": "bpmn_escalation", "code": "LATE"}]

Each step becomes a job due at (due date - before) or (due date + after) when the task
opens; the jobs of a task that closes are dropped. Every step that runs is recorded in
the instance's history ("task escalated" or "reminder"), and a task still open at its due
date is marked as an SLA breach.
"""

from __future__ import annotations

import json
import logging

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import transaction

from bpm.durations import parse_duration
from processes.choices import HistoryKind, JobKind

from .choices import TaskStatus
from .models import HumanTask, TaskCandidate

logger = logging.getLogger(__name__)

ACTIONS = {"remind", "notify_assignee", "notify_owner", "reassign", "raise_priority", "bpmn_escalation"}


def policy_for(task: HumanTask) -> list[dict]:
    from processes.models import ProcessSettings

    element = task.definition.element(task.element_id).raw
    raw = ((element.get("camunda") or {}).get("properties") or {}).get("escalation.policy")
    if raw:
        try:
            steps = json.loads(raw)
        except json.JSONDecodeError:
            logger.warning("Task %s: escalation.policy is not valid JSON", task.element_id)
            steps = []
    else:
        settings_row = ProcessSettings.objects.filter(key=task.process_key).first()
        steps = settings_row.escalation_policy if settings_row else []
    steps = [s for s in steps if isinstance(s, dict) and s.get("action") in ACTIONS]
    # Built in after the policy's own steps (their job indexes stay the same): a "due soon"
    # notice, unless the policy has its own reminder, and the "overdue" notice at the due date.
    if not any(s["action"] == "remind" for s in steps):
        steps.append({"before": settings.BPM["DUE_SOON_BEFORE"], "action": "due_soon", "builtin": True})
    steps.append({"after": "PT0S", "action": "overdue", "builtin": True})
    return steps


def schedule(tasks: list[HumanTask]) -> None:
    """Create escalation jobs for newly opened tasks with a due date (same transaction)."""
    from processes.models import Job

    jobs = []
    for task in tasks:
        if task.due_at is None:
            continue
        for index, step in enumerate(policy_for(task)):
            if "before" in step:
                delta, sign = parse_duration(str(step["before"])), -1
            else:
                delta, sign = parse_duration(str(step.get("after", "PT0S"))), 1
            if delta is None:
                continue
            due = task.due_at + delta if sign > 0 else task.due_at - delta
            if step.get("builtin") and sign < 0 and due <= task.created_at:
                continue  # due soon already when it opened: the assignment says enough
            jobs.append(
                Job(
                    instance_id=task.instance_id,
                    kind=JobKind.ESCALATION,
                    spiff_task_id=task.spiff_task_id,
                    element_id=task.element_id,
                    due_at=due,
                    remaining=index,
                )
            )
    if jobs:
        Job.objects.bulk_create(jobs)


def run_job(job) -> None:
    """The "escalation" job kind (registered with processes.jobs): lock the instance, then run the step."""
    from processes import services as process_services

    process_services.lock_instance(job.instance_id)
    run_step(job)


def run_step(job) -> None:
    """Run one escalation step of a task (inside the job runner's transaction)."""
    from processes import services as process_services

    task = (
        HumanTask.objects.select_for_update()
        .select_related("definition")
        .filter(instance_id=job.instance_id, spiff_task_id=job.spiff_task_id, status=TaskStatus.OPEN)
        .first()
    )
    if task is None:
        return  # completed or cancelled meanwhile: nothing to escalate
    steps = policy_for(task)
    if job.remaining >= len(steps):
        return
    step = steps[job.remaining]
    action = step["action"]
    fields = []
    # the step's own due time says whether the task is past its due date (clock-independent)
    if task.due_at and job.due_at >= task.due_at and not task.sla_breached:
        task.sla_breached = True
        fields.append("sla_breached")
    from notifications.services import task_event

    if action in ("due_soon", "remind"):
        task_event("workflow.task.due_soon", task, user=task.assignee)
    if action == "overdue":
        task_event("workflow.task.overdue", task, user=task.assignee)
    if step.get("builtin"):
        if fields:
            task.save(update_fields=fields)
        return  # a notice only: no escalation level, no history entry
    data = {"action": action, "step": job.remaining + 1}
    if action == "reassign":
        group = Group.objects.filter(name=step.get("group", "")).first()
        TaskCandidate.objects.create(task=task, group=group, group_name=step.get("group", ""))
        data["from"] = task.assignee.get_username() if task.assignee else ""
        data["to_group"] = step.get("group", "")
        task.assignee = None
        task.claimed_at = None
        fields += ["assignee", "claimed_at"]
    elif action == "raise_priority":
        task.priority = min(100, task.priority + int(step.get("by", 10)))
        data["priority"] = task.priority
        fields.append("priority")
    elif action == "notify_assignee":
        data["to"] = task.assignee.get_username() if task.assignee else ""
        task_event("workflow.task.escalated", task, user=task.assignee, extra={"action": action})
    elif action == "notify_owner":
        from processes.selectors import process_owners

        owners = process_owners(task.process_key)
        data["to"] = ", ".join(sorted(u.get_username() for u in owners)) or "no process owner"
        task_event("workflow.task.escalated", task, users=owners, extra={"action": action})
    if action != "remind":
        task.escalation_level += 1
        fields.append("escalation_level")
    if fields:
        task.save(update_fields=sorted(set(fields)))
    process_services.history_append(
        instance_id=task.instance_id,
        definition_id=task.definition_id,
        kind=HistoryKind.TASK_REMINDED if action == "remind" else HistoryKind.TASK_ESCALATED,
        element_id=task.element_id,
        name=task.name,
        data=data,
    )
    if action == "bpmn_escalation":
        with transaction.atomic():
            process_services.instance_throw_escalation(
                instance_id=task.instance_id, spiff_task_id=str(task.spiff_task_id), code=str(step.get("code", ""))
            )
