"""The job runner: take due jobs with row locks that expire, run each through its service.

Lock order: a job row (SKIP LOCKED) is taken in its own short transaction; executing it
locks the instance row, then marks the job done in that same transaction.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from bpm import locking

from . import connectors, services
from .choices import HistoryKind, JobKind
from .exceptions import InstanceNotActive, InstanceSuspended, StepNotWaiting
from .models import Incident, Job, JobStatus, ProcessInstance

logger = logging.getLogger(__name__)


# Job kinds other apps add (as Camunda's job handlers), registered in their AppConfig.ready():
# the handler runs inside the job's transaction, with the job row locked.
JOB_KINDS: dict[str, Callable[[Job], None]] = {}
# What the in-process runner (run_jobs, the demo) also does periodically: (every seconds, callable).
PERIODIC: list[tuple[float, Callable[[], object]]] = []


def register_job_kind(kind: str, handler: Callable[[Job], None]) -> None:
    JOB_KINDS[kind] = handler


def register_periodic(every_seconds: float, action: Callable[[], object]) -> None:
    if (every_seconds, action) not in PERIODIC:
        PERIODIC.append((every_seconds, action))


def _now(now: datetime | None) -> datetime:
    return now or timezone.now()


def jobs_acquire(
    *, limit: int | None = None, lock_seconds: int | None = None, now: datetime | None = None
) -> tuple[str, list[int]]:
    """Lock up to ``limit`` due jobs (and jobs whose lock expired) for one runner; returns (token, ids)."""
    now = _now(now)
    limit = limit or settings.BPM["JOB_BATCH_SIZE"]
    lock_seconds = lock_seconds or settings.BPM["JOB_LOCK_SECONDS"]
    due = Job.objects.filter(
        Q(status=JobStatus.PENDING, due_at__lte=now) | Q(status=JobStatus.RUNNING, locked_until__lt=now)
    ).order_by("due_at", "id")
    return locking.acquire(
        due,
        limit,
        status=JobStatus.RUNNING,
        locked_until=now + timedelta(seconds=lock_seconds),
        attempts=F("attempts") + 1,
    )


def _backoff_seconds(attempt: int) -> float:
    """Exponential backoff with jitter: about 2, 4, 8 ... seconds, capped at ten minutes."""
    base = min(600.0, settings.BPM["JOB_RETRY_BASE_SECONDS"] * (2 ** max(0, attempt - 1)))
    return base * random.uniform(0.5, 1.0)  # noqa: S311 - jitter, not security


def job_execute(*, job_id: int, token: str) -> str:
    """Run one locked job; returns 'done', 'skipped' (not ours any more), 'retry' or 'failed'."""
    lease = settings.BPM["JOB_LOCK_SECONDS"]
    # Started: the lease runs from now and is renewed while this worker runs the job, so a
    # worker that dies lets it lapse within the lease and the next tick takes the job again.
    if not Job.objects.filter(pk=job_id, lock_token=token, status=JobStatus.RUNNING).update(
        locked_until=timezone.now() + timedelta(seconds=lease)
    ):
        return "skipped"
    job = Job.objects.get(pk=job_id)
    with locking.heartbeat(Job, token, lease, ids=[job_id]):
        return _run_job(job, token)


def _run_job(job: Job, token: str) -> str:
    job_id = job.pk
    result: dict = {}
    try:
        if job.kind == JobKind.SERVICE:
            # The call runs outside any lock or transaction; its result is applied below.
            try:
                result = _call_connector(job)
            except connectors.ConnectorError as exc:
                if _throw_mapped_error(job, token, exc):
                    return "done"
                raise
        with transaction.atomic():
            job = Job.objects.select_for_update().filter(pk=job_id, lock_token=token, status=JobStatus.RUNNING).first()
            if job is None:
                return "skipped"
            if job.kind == JobKind.TIMER:
                services.instance_fire_timer(instance_id=job.instance_id, spiff_task_id=str(job.spiff_task_id))
            elif job.kind == JobKind.SERVICE:
                _apply_service_result(job, result)
            elif job.kind == JobKind.ASYNC:
                services.instance_continue_async(instance_id=job.instance_id, spiff_task_id=str(job.spiff_task_id))
            elif job.kind == JobKind.START_TIMER:
                services.instance_start_by_timer(job_id=job.pk)
            elif job.kind in JOB_KINDS:
                JOB_KINDS[job.kind](job)
            else:
                raise RuntimeError(f"No handler for jobs of kind {job.kind!r} (register_job_kind)")
            Job.objects.filter(pk=job.pk).update(status=JobStatus.DONE, finished_at=timezone.now(), last_error="")
            return "done"
    except InstanceSuspended:
        # parked: instance_resume makes it pending again
        Job.objects.filter(pk=job_id, lock_token=token).update(status=JobStatus.SUSPENDED, lock_token="")
        return "suspended"
    except Exception as exc:  # the instance change rolled back; retry later or raise an incident
        logger.warning("Job %s (%s %s) failed: %s", job_id, job.kind, job.element_id, exc)
        return _failed(job_id, token, exc)


def _throw_mapped_error(job: Job, token: str, error: connectors.ConnectorError) -> bool:
    """A failure the diagram maps to a BPMN error code goes to its error boundary event, not to retries."""
    instance = ProcessInstance.objects.select_related("definition").get(pk=job.instance_id)
    connector = instance.definition.element(job.element_id).connector
    code = connectors.error_code_for(connector, error)
    if not code:
        return False
    with transaction.atomic():
        if not Job.objects.select_for_update().filter(pk=job.pk, lock_token=token, status=JobStatus.RUNNING).exists():
            return True  # someone else has it now
        if not services.instance_throw_error(
            instance_id=job.instance_id, spiff_task_id=str(job.spiff_task_id), code=code, message=str(error)
        ):
            return False
        Job.objects.filter(pk=job.pk).update(
            status=JobStatus.DONE, finished_at=timezone.now(), last_error=str(error)[:2000]
        )
    return True


JAVA_ATTRIBUTES = ("class", "delegateExpression", "expression")


def _call_connector(job: Job) -> dict:
    instance = ProcessInstance.objects.select_related("definition").get(pk=job.instance_id)
    element = instance.definition.element(job.element_id)
    connector = element.connector or _java_binding(job.element_id, element.camunda)
    return connectors.call(connector, instance.variables or {})


def _java_binding(element_id: str, camunda: dict) -> dict:
    """The connector an administrator bound a Java implementation to, with the task's
    camunda:inputOutput as its inputs and outputs; else the failure that names the class."""
    attribute = next((name for name in JAVA_ATTRIBUTES if camunda.get(name)), None)
    if attribute is None:
        raise connectors.ConnectorError(f"Service task '{element_id}' has no connector")
    implementation = camunda[attribute]
    bound = settings.BPM.get("JAVA_CLASS_BINDINGS", {}).get(implementation)
    if not bound:
        raise connectors.ConnectorError(
            f"Service task '{element_id}' is implemented in Java (camunda:{attribute}=\"{implementation}\"), "
            "which this engine does not run: bind it to a connector in settings BPM['JAVA_CLASS_BINDINGS'] "
            "(BPM_JAVA_CLASS_BINDINGS) and retry the incident"
        )
    io = camunda.get("inputOutput") or {}
    return {"id": bound, "inputs": io.get("inputs") or {}, "outputs": io.get("outputs") or {}}


def _apply_service_result(job: Job, result: dict) -> None:
    try:
        services.instance_complete_step(
            instance_id=job.instance_id, spiff_task_id=str(job.spiff_task_id), data=serializer_safe(result)
        )
    except InstanceSuspended:
        raise  # parked with the instance: applied (called again) once it resumes
    except (StepNotWaiting, InstanceNotActive):
        return  # the task no longer waits (interrupted, cancelled, or done before): nothing to apply


def serializer_safe(result: dict) -> dict:
    """Connector results become process variables: keep them JSON values."""
    import json

    return json.loads(json.dumps(result, default=str))


def _failed(job_id: int, token: str, exc: Exception) -> str:
    with transaction.atomic():
        job = Job.objects.select_for_update().filter(pk=job_id, lock_token=token).first()
        if job is None:
            return "skipped"
        message = str(exc) or repr(exc)
        if job.attempts >= job.max_attempts:
            Job.objects.filter(pk=job_id).update(
                status=JobStatus.FAILED, last_error=message[:2000], finished_at=timezone.now()
            )
            if job.instance_id is None:  # a start timer that cannot start: logged, nothing to attach to
                logger.error("Start timer %s of definition %s failed: %s", job.element_id, job.definition_id, message)
                return "failed"
            incident = Incident.objects.create(
                instance_id=job.instance_id, job=job, element_id=job.element_id, message=message[:4000]
            )
            from notifications.services import instance_event

            instance_event(
                "workflow.incident.raised",
                ProcessInstance.objects.select_related("definition").get(pk=job.instance_id),
                extra={"incident": incident.pk, "element_id": job.element_id, "error": message[:500]},
            )
            services.history_append(
                instance_id=job.instance_id,
                definition_id=ProcessInstance.objects.values_list("definition_id", flat=True).get(pk=job.instance_id),
                kind=HistoryKind.INCIDENT_RAISED,
                element_id=job.element_id,
                data={"incident": incident.pk, "error": message[:500], "attempts": job.attempts},
            )
            return "failed"
        Job.objects.filter(pk=job_id).update(
            status=JobStatus.PENDING,
            due_at=timezone.now() + timedelta(seconds=_backoff_seconds(job.attempts)),
            last_error=message[:2000],
            lock_token="",
            locked_until=None,
        )
        return "retry"


def run_due_jobs(*, now: datetime | None = None) -> int:
    """Acquire and run due jobs in this process (the demo's in-process runner and tests)."""
    token, ids = jobs_acquire(now=now)
    with locking.heartbeat(Job, token, settings.BPM["JOB_LOCK_SECONDS"] if ids else 0):  # the rest of the batch waits
        for job_id in ids:
            job_execute(job_id=job_id, token=token)
    return len(ids)
