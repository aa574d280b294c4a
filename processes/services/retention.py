"""History retention: ended instances are removed with everything they hold (history, tasks,
waiting steps, jobs, incidents) once their process's time to live has passed
(camunda:historyTimeToLive, else BPM_HISTORY_TTL_DAYS); approval decisions, an audit record,
stay until BPM_APPROVAL_RETENTION_DAYS. The cleanup runs in batches, each its own transaction
taking rows no one else holds (SKIP LOCKED), inside a daily window."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.apps import apps
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ..choices import InstanceStatus, JobKind, JobStatus
from ..models import Job, ProcessDefinition, ProcessInstance

logger = logging.getLogger(__name__)
ENDED = (InstanceStatus.COMPLETED, InstanceStatus.CANCELLED)


@dataclass
class CleanupResult:
    instances: int = 0
    approvals: int = 0
    rows: dict[str, int] = field(default_factory=dict)  # table -> rows removed
    finished: bool = True  # False: stopped at its time budget with more to remove

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


def expired_instances(now: datetime | None = None):
    """Ended instances whose time to live has passed, oldest first."""
    now = now or timezone.now()
    default = settings.BPM["HISTORY_TTL_DAYS"]
    expired = ProcessInstance.objects.none()
    ttls = set(ProcessDefinition.objects.values_list("history_ttl_days", flat=True).distinct())
    for ttl in ttls:
        days = ttl if ttl is not None else default
        if days is None:
            continue  # kept for ever
        expired |= ProcessInstance.objects.filter(
            definition__history_ttl_days=ttl if ttl is not None else None,
            status__in=ENDED,
            ended_at__lt=now - timedelta(days=days),
        )
    return expired.order_by("ended_at", "pk")


def history_cleanup(
    *, now: datetime | None = None, batch_size: int | None = None, max_seconds: float | None = None
) -> CleanupResult:
    """Remove what has outlived its time to live, a batch per transaction, until nothing is
    left or ``max_seconds`` have passed."""
    now = now or timezone.now()
    batch_size = batch_size or settings.BPM["HISTORY_CLEANUP_BATCH"]
    began = time.monotonic()
    result = CleanupResult()
    while True:
        if max_seconds is not None and time.monotonic() - began > max_seconds:
            result.finished = False
            break
        with transaction.atomic():
            ids = list(
                expired_instances(now)
                .select_for_update(skip_locked=True, of=("self",))
                .values_list("pk", flat=True)[:batch_size]
            )
            if not ids:
                break
            _, removed = ProcessInstance.objects.filter(pk__in=ids).delete()
        result.instances += removed.get("processes.ProcessInstance", 0)
        for table, count in removed.items():
            result.rows[table] = result.rows.get(table, 0) + count
    result.approvals = _remove_expired_approvals(now)
    if result.instances or result.approvals:
        logger.info(
            "History clean-up removed %s instances (%s rows) and %s approval records",
            result.instances,
            result.total_rows,
            result.approvals,
        )
    return result


def _remove_expired_approvals(now: datetime) -> int:
    """Decisions whose instance is gone, past BPM_APPROVAL_RETENTION_DAYS (kept for ever without)."""
    days = settings.BPM["APPROVAL_RETENTION_DAYS"]
    if days is None or not apps.is_installed("approvals"):
        return 0
    approval = apps.get_model("approvals", "Approval")
    expired = approval.objects.filter(instance__isnull=True, decided_at__lt=now - timedelta(days=days))
    _, removed = expired.delete()  # a queryset delete: the model refuses single deletes (append-only)
    return removed.get("approvals.Approval", 0)


def in_cleanup_window(now: datetime | None = None) -> bool:
    """Whether the local time is inside BPM_HISTORY_CLEANUP_WINDOW ("01:00-05:00"; over midnight
    allowed, e.g. "22:00-04:00"; empty: never)."""
    window = (settings.BPM["HISTORY_CLEANUP_WINDOW"] or "").strip()
    if not window:
        return False
    start_text, _, end_text = window.partition("-")
    start = datetime.strptime(start_text.strip(), "%H:%M").time()
    end = datetime.strptime(end_text.strip(), "%H:%M").time()
    local = timezone.localtime(now or timezone.now()).time()
    return start <= local < end if start <= end else (local >= start or local < end)


def history_cleanup_in_window(now: datetime | None = None) -> CleanupResult | None:
    """The periodic entry point: inside the window, clean for at most a minute (the next run
    goes on); outside it, nothing."""
    if not in_cleanup_window(now):
        return None
    return history_cleanup(now=now, max_seconds=60)


CLEANUP_ELEMENT = "history-cleanup"


def history_cleanup_schedule(*, immediately_due: bool = True, now: datetime | None = None) -> Job:
    """A job that cleans history once (outside the window too, when immediately due), as
    Camunda's POST history/cleanup schedules one; a pending one is returned, not doubled."""
    now = now or timezone.now()
    pending = Job.objects.filter(kind=JobKind.HISTORY_CLEANUP, status=JobStatus.PENDING).first()
    if pending is not None:
        return pending
    due = now if immediately_due else _next_window_start(now)
    return Job.objects.create(kind=JobKind.HISTORY_CLEANUP, element_id=CLEANUP_ELEMENT, due_at=due, max_attempts=3)


def _next_window_start(now: datetime) -> datetime:
    window = (settings.BPM["HISTORY_CLEANUP_WINDOW"] or "").strip()
    if not window:
        return now
    start = datetime.strptime(window.partition("-")[0].strip(), "%H:%M").time()
    local = timezone.localtime(now)
    candidate = local.replace(hour=start.hour, minute=start.minute, second=0, microsecond=0)
    return candidate if candidate > local else candidate + timedelta(days=1)


def run_cleanup_job(job: Job) -> None:
    """The job's work: a minute of clean-up; what is left goes on in a new job."""
    result = history_cleanup(max_seconds=60)
    if not result.finished:
        Job.objects.create(kind=JobKind.HISTORY_CLEANUP, element_id=CLEANUP_ELEMENT, due_at=timezone.now())
