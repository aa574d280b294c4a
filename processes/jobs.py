"""The job runner: take due jobs with row locks that expire, run each through its service.

Lock order: a job row (SKIP LOCKED) is taken in its own short transaction; executing it
locks the instance row, then marks the job done in that same transaction.
"""

from __future__ import annotations

import logging
import random
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from . import services
from .models import Job, JobStatus

logger = logging.getLogger(__name__)


def _now(now: datetime | None) -> datetime:
    return now or timezone.now()


def jobs_acquire(
    *, limit: int | None = None, lock_seconds: int | None = None, now: datetime | None = None
) -> tuple[str, list[int]]:
    """Lock up to ``limit`` due jobs (and jobs whose lock expired) for one runner; returns (token, ids)."""
    now = _now(now)
    limit = limit or settings.BPM["JOB_BATCH_SIZE"]
    lock_seconds = lock_seconds or settings.BPM["JOB_LOCK_SECONDS"]
    token = uuid.uuid4().hex
    with transaction.atomic():
        due = Job.objects.filter(
            Q(status=JobStatus.PENDING, due_at__lte=now) | Q(status=JobStatus.RUNNING, locked_until__lt=now)
        ).order_by("due_at", "id")
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True)
        ids = list(due.values_list("id", flat=True)[:limit])
        if ids:
            Job.objects.filter(id__in=ids).update(
                status=JobStatus.RUNNING,
                lock_token=token,
                locked_until=now + timedelta(seconds=lock_seconds),
                attempts=F("attempts") + 1,
            )
    return token, ids


def _backoff_seconds(attempt: int) -> float:
    """Exponential backoff with jitter: about 2, 4, 8 ... seconds, capped at ten minutes."""
    base = min(600.0, settings.BPM["JOB_RETRY_BASE_SECONDS"] * (2 ** max(0, attempt - 1)))
    return base * random.uniform(0.5, 1.0)  # noqa: S311 - jitter, not security


def job_execute(*, job_id: int, token: str) -> str:
    """Run one locked job; returns 'done', 'skipped' (not ours any more), 'retry' or 'failed'."""
    try:
        with transaction.atomic():
            job = Job.objects.select_for_update().filter(pk=job_id, lock_token=token, status=JobStatus.RUNNING).first()
            if job is None:
                return "skipped"
            if job.kind == "timer":
                services.instance_fire_timer(instance_id=job.instance_id, spiff_task_id=str(job.spiff_task_id))
            Job.objects.filter(pk=job.pk).update(status=JobStatus.DONE, finished_at=timezone.now(), last_error="")
            return "done"
    except Exception as exc:  # the instance change rolled back; record the failure and retry later
        logger.exception("Job %s failed", job_id)
        job = Job.objects.filter(pk=job_id, lock_token=token).first()
        if job is None:
            return "skipped"
        if job.attempts >= job.max_attempts:
            Job.objects.filter(pk=job_id).update(
                status=JobStatus.FAILED, last_error=repr(exc)[:2000], finished_at=timezone.now()
            )
            return "failed"
        Job.objects.filter(pk=job_id).update(
            status=JobStatus.PENDING,
            due_at=timezone.now() + timedelta(seconds=_backoff_seconds(job.attempts)),
            last_error=repr(exc)[:2000],
            lock_token="",
            locked_until=None,
        )
        return "retry"


def run_due_jobs(*, now: datetime | None = None) -> int:
    """Acquire and run due jobs in this process (the demo's in-process runner and tests)."""
    token, ids = jobs_acquire(now=now)
    for job_id in ids:
        job_execute(job_id=job_id, token=token)
    return len(ids)
