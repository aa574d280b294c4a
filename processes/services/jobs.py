"""What jobs do to instances: fire a timer, start by a timer, throw a mapped error or escalation, retry an incident."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from bpm.exceptions import Conflict, InvalidInput, NotFound
from notifications import services as notifications

from .. import schedules
from ..choices import HistoryKind, InstanceStatus, JobKind, WaitKind
from ..engine import runtime
from ..models import (
    Incident,
    Job,
    JobStatus,
    ProcessInstance,
    WaitingStep,
)
from .deploy import specs_for
from .state import _apply_outcome, _history, _load_run, _lock_instance, _refuse_suspended, history_append


def _job_on_instance(instance_id: int, spiff_task_id: str, action: str):
    """Run one job's engine action on its locked instance: (instance, run), or None, changing
    nothing, when the step no longer waits (interrupted, the instance ended, or the job ran
    before): running a job twice is harmless. A suspended instance parks the job."""
    instance = _lock_instance(instance_id)
    _refuse_suspended(instance)
    if instance.status != InstanceStatus.RUNNING:
        return None
    run = _load_run(instance)
    try:
        getattr(run, action)(spiff_task_id)
    except runtime.EngineActionError:
        return None
    _apply_outcome(instance, run)
    return instance, run


def instance_continue_async(*, instance_id: int, spiff_task_id: str) -> bool:
    """Go on from an asynchronous continuation (the job runner, inside its transaction)."""
    return _job_on_instance(instance_id, spiff_task_id, "continue_async") is not None


def instance_fire_timer(*, instance_id: int, spiff_task_id: str) -> bool:
    """Fire a due timer of an instance (called by the job runner inside its transaction)."""
    done = _job_on_instance(instance_id, spiff_task_id, "fire_timer")
    if done is None:
        return False
    instance, run = done
    # A cycle timer still waiting after it fired wants a job for its next due time.
    for point in run.waiting():
        if point.spiff_task_id == str(spiff_task_id) and point.kind == WaitKind.TIMER and point.due_at is not None:
            Job.objects.create(
                instance=instance,
                kind=JobKind.TIMER,
                spiff_task_id=point.spiff_task_id,
                element_id=point.element_id,
                due_at=point.due_at,
            )
    return True


def incident_retry(*, incident_id: int, user=None) -> Incident:
    """Run a failed job again, or offer a failed external task to workers again (after the
    cause was fixed); the incident is resolved."""
    with transaction.atomic():
        incident = Incident.objects.select_for_update(of=("self",)).get(pk=incident_id)
        if incident.resolved_at is not None:
            raise Conflict(f"Incident {incident_id} was already resolved")
        if incident.job_id is not None:
            Job.objects.filter(pk=incident.job_id).update(
                status=JobStatus.PENDING, due_at=timezone.now(), attempts=0, lock_token="", locked_until=None
            )
        else:  # a failed external task: offered to workers again, with one retry
            WaitingStep.objects.filter(
                instance_id=incident.instance_id, spiff_task_id=incident.external_task_id
            ).update(retries=1, lock_expires_at=None)
        incident.resolved_at = timezone.now()
        incident.resolved_by = user if getattr(user, "is_authenticated", False) else None
        incident.save(update_fields=["resolved_at", "resolved_by"])
        notifications.instance_event(
            "workflow.incident.resolved",
            ProcessInstance.objects.select_related("definition").get(pk=incident.instance_id),
            extra={"incident": incident.pk, "element_id": incident.element_id},
        )
        history_append(
            instance_id=incident.instance_id,
            definition_id=ProcessInstance.objects.values_list("definition_id", flat=True).get(pk=incident.instance_id),
            kind=HistoryKind.INCIDENT_RESOLVED,
            actor=user,
            element_id=incident.element_id,
            data={"incident": incident.pk},
        )
        return incident


def instance_start_by_timer(*, job_id: int) -> ProcessInstance | None:
    """Run a due start-timer job (inside the job runner's transaction): start an instance of
    the definition, fire its timer start event at once, and schedule the next start."""
    job = Job.objects.select_related("definition").get(pk=job_id)
    definition = job.definition
    instance = None
    if definition is not None and definition.is_active and not definition.is_suspended:
        specs = specs_for(definition)
        run = runtime.Run.start(specs, {})
        run.prime_start_timer(job.element_id)
        run.advance()
        instance = ProcessInstance(definition=definition)
        started = _history(
            instance, HistoryKind.INSTANCE_STARTED, data={"by_timer": job.element_id, "due": job.due_at.isoformat()}
        )
        _apply_outcome(instance, run, events=[started], new=True)
        if job.remaining != 0:
            timer = definition.element(job.element_id).timer
            due = schedules.next_occurrence(timer, job.due_at)
            if due is not None:
                Job.objects.create(
                    kind=JobKind.START_TIMER,
                    definition=definition,
                    element_id=job.element_id,
                    due_at=due,
                    remaining=job.remaining - 1 if job.remaining > 0 else -1,
                )
    return instance


def instance_throw_error(*, instance_id: int, spiff_task_id: str, code: str, message: str = "") -> bool:
    """Throw a BPMN error at a waiting service task (inside the job runner's transaction).
    Returns False, changing nothing, when no boundary or event subprocess catches the code."""
    instance = _lock_instance(instance_id)
    run = _load_run(instance)
    if not run.throw_error(spiff_task_id, code, message):
        return False
    _apply_outcome(instance, run)
    return True


def instance_throw_escalation(*, instance_id: int, spiff_task_id: str, code: str) -> bool:
    """Throw a BPMN escalation at a waiting user task (an SLA escalation step)."""
    instance = _lock_instance(instance_id)
    run = _load_run(instance)
    if not run.throw_error(spiff_task_id, code, escalation=True):
        return False
    _apply_outcome(instance, run)
    return True


def _lock_job(job_id: int) -> tuple[Job, ProcessInstance | None]:
    """The job and its instance, the instance locked first (the lock order of every instance command)."""
    row = Job.objects.filter(pk=job_id).values("instance_id").first()
    if row is None:
        raise NotFound(f"Job {job_id} does not exist")
    instance = _lock_instance(row["instance_id"]) if row["instance_id"] else None
    return Job.objects.select_for_update().get(pk=job_id), instance


MAX_RETRIES = 10_000


def job_set_retries(*, job_id: int, retries: int, user=None) -> Job:
    """Let a job make ``retries`` more attempts (Camunda's job retries). A failed job runs again
    at once and its incident is resolved."""
    if not 1 <= retries <= MAX_RETRIES:
        raise InvalidInput(
            f"Retries go from 1 to {MAX_RETRIES} (to stop a job, suspend its instance)",
            details={"retries": [f"1 to {MAX_RETRIES}."]},
        )
    with transaction.atomic():
        job, _ = _lock_job(job_id)
        if job.status in (JobStatus.DONE, JobStatus.RUNNING):
            raise Conflict(f"Job {job_id} is {job.status}: its retries cannot change")
        incident = Incident.objects.filter(job=job, resolved_at__isnull=True).first()
        if incident is not None:
            incident_retry(incident_id=incident.pk, user=user)  # pending again, attempts from 0
            job.refresh_from_db()
        elif job.status == JobStatus.FAILED:  # failed, its incident already gone: run it again too
            job.status, job.attempts, job.due_at = JobStatus.PENDING, 0, timezone.now()
        job.max_attempts = job.attempts + retries
        job.save(update_fields=["max_attempts", "status", "attempts", "due_at"])
        _record_change(job, user, {"retries": retries})
        return job


def job_reschedule(*, job_id: int, due_at, user=None) -> Job:
    """Move a waiting job's due date (a timer or a retry): it runs then, not before."""
    with transaction.atomic():
        job, _ = _lock_job(job_id)
        if job.status != JobStatus.PENDING:
            raise Conflict(f"Job {job_id} is {job.status}: only a pending job can be rescheduled")
        before = job.due_at
        job.due_at = due_at
        job.save(update_fields=["due_at"])
        _record_change(job, user, {"due_at": {"from": before.isoformat(), "to": due_at.isoformat()}})
        return job


def _record_change(job: Job, user, change: dict) -> None:
    """Who changed a job of an instance, and how, in the instance's history."""
    if job.instance_id is None:
        return
    history_append(
        instance_id=job.instance_id,
        definition_id=ProcessInstance.objects.values_list("definition_id", flat=True).get(pk=job.instance_id),
        kind=HistoryKind.JOB_CHANGED,
        actor=user,
        element_id=job.element_id,
        data={"job": job.pk, **change},
    )
