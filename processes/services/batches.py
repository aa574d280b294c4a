"""Batches: one operation over many instances, run by workers in chunks with progress and a
failure per item (Camunda 7's batches). Migrate, cancel, suspend, resume, set variables,
delete and retry incidents each have a batch kind; the per-item work is the same service a
single command uses.

A chunk is one transaction that holds the batch row (SKIP LOCKED: one worker per batch at a
time); each item runs in its own savepoint, so a failing item is recorded and the others go
on. A worker that dies mid-chunk rolls the chunk back and the next worker does it again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from bpm.exceptions import ApplicationError, InvalidInput

from .. import variables as variable_rules
from ..choices import BatchKind, BatchStatus
from ..exceptions import BatchNotAllowed, InstanceNotActive
from ..models import OPEN_STATUSES, Batch, BatchFailure, Incident, ProcessInstance
from . import instances, jobs, migration

logger = logging.getLogger(__name__)
MAX_ITEMS = 1_000_000


def batch_create(
    *, kind: str, instance_ids: list[int], params: dict | None = None, user=None, may_change=None
) -> Batch:
    """A batch over these instances; ``may_change(ids) -> ids not allowed`` checks the user's rights."""
    params = dict(params or {})
    if kind not in BatchKind.values:
        raise InvalidInput(f"Unknown batch type '{kind}'", details={"type": [f"one of {', '.join(BatchKind.values)}"]})
    ids = sorted(set(int(i) for i in instance_ids))
    if not ids:
        raise InvalidInput("The selection holds no instance", details={"instance_ids": ["no instance selected"]})
    if len(ids) > MAX_ITEMS:
        raise InvalidInput(f"At most {MAX_ITEMS} instances per batch", details={"instance_ids": ["too many"]})
    known = set(ProcessInstance.objects.filter(pk__in=ids).values_list("pk", flat=True))
    missing = [i for i in ids if i not in known]
    if missing:
        raise InvalidInput(
            f"No instance {', '.join(map(str, missing[:10]))}{'…' if len(missing) > 10 else ''}",
            details={"instance_ids": [f"unknown: {missing[:10]}"]},
        )
    if may_change is not None:
        refused = may_change(ids)
        if refused:
            raise BatchNotAllowed(f"You may not change instance {', '.join(map(str, refused[:10]))}")
    _check_params(kind, params)
    with transaction.atomic():
        batch = Batch.objects.create(kind=kind, params=params, item_ids=ids, total=len(ids), created_by=_user(user))
        transaction.on_commit(lambda: _schedule(batch.pk))
    return batch


def _user(user):
    return user if getattr(user, "is_authenticated", False) else None


def _check_params(kind: str, params: dict) -> None:
    if kind == BatchKind.MIGRATE:
        if "plan" not in params:
            raise InvalidInput("A migration batch needs its plan", details={"plan": ["required"]})
        plan = migration.MigrationPlan.from_dict(params["plan"])
        migration._refuse_bad_plan(plan)
    elif kind == BatchKind.SET_VARIABLES:
        variables = params.get("variables")
        if not isinstance(variables, dict) or not variables:
            raise InvalidInput("Give the variables to set", details={"variables": ["required"]})
        variable_rules.check(variables)


def _schedule(batch_id: int) -> None:
    from .. import tasks  # the Celery entry points import the services

    tasks.batch_run.delay(batch_id)


def batch_cancel(*, batch_id: int, user=None) -> Batch:
    """Stop a running batch: what it did stays done, the rest is not done."""
    with transaction.atomic():
        batch = Batch.objects.select_for_update().get(pk=batch_id)
        if batch.status != BatchStatus.RUNNING:
            raise InstanceNotActive(f"Batch {batch_id} is already {batch.status}")
        batch.status, batch.ended_at = BatchStatus.CANCELLED, timezone.now()
        batch.save(update_fields=["status", "ended_at", "updated_at"])
        return batch


def batch_run_chunk(batch_id: int, chunk: int | None = None) -> bool:
    """Do the next chunk of a running batch; True while items remain (and no one else holds it)."""
    chunk = chunk or settings.BPM["BATCH_CHUNK"]
    with transaction.atomic():
        batch = (
            Batch.objects.select_for_update(skip_locked=True).filter(pk=batch_id, status=BatchStatus.RUNNING).first()
        )
        if batch is None:
            return False
        items = batch.item_ids[batch.position : batch.position + chunk]
        user = batch.created_by
        try:
            action = _ACTIONS[batch.kind](batch)
        except ApplicationError as exc:  # e.g. a version the plan names was deleted: no item can be done
            items = batch.item_ids[batch.position :]
            action = _refuse_all(exc)
        failures = []
        for item_id in items:
            try:
                with transaction.atomic():
                    action(item_id, user)
                batch.succeeded += 1
            except ApplicationError as exc:
                failures.append(BatchFailure(batch=batch, item_id=item_id, message=str(exc), details=exc.details or {}))
            except Exception as exc:  # an engine defect on one instance must not stop the others
                logger.exception("Batch %s failed on instance %s", batch.pk, item_id)
                failures.append(BatchFailure(batch=batch, item_id=item_id, message=f"{type(exc).__name__}: {exc}"))
        BatchFailure.objects.bulk_create(failures)
        batch.failed += len(failures)
        batch.position += len(items)
        if batch.position >= batch.total:
            batch.status, batch.ended_at = BatchStatus.COMPLETED, timezone.now()
        batch.save(update_fields=["succeeded", "failed", "position", "status", "ended_at", "updated_at"])
        return batch.status == BatchStatus.RUNNING


def batches_resume_stalled(older_than_seconds: float | None = None) -> int:
    """Hand running batches nobody moved on lately (BPM_BATCH_STALLED_SECONDS) to a worker
    again: a lost message, a worker that restarted. A batch being run is locked and skipped."""
    if older_than_seconds is None:
        older_than_seconds = settings.BPM["BATCH_STALLED_SECONDS"]
    since = timezone.now() - timedelta(seconds=older_than_seconds)
    ids = list(Batch.objects.filter(status=BatchStatus.RUNNING, updated_at__lt=since).values_list("pk", flat=True))
    for batch_id in ids:
        _schedule(batch_id)
    return len(ids)


# ---------------------------------------------------------------------------
# What each kind does to one instance


def _refuse_all(exc: ApplicationError) -> Callable:
    def refuse(item: int, user) -> None:
        raise exc

    return refuse


def _migrate(batch: Batch) -> Callable:
    plan = migration.MigrationPlan.from_dict(batch.params["plan"])
    reevaluate = bool(batch.params.get("reevaluate_assignments"))
    return lambda item, user: migration.instance_migrate(
        instance_id=item, plan=plan, user=user, reevaluate_assignments=reevaluate
    )


def _cancel(batch: Batch) -> Callable:
    reason = batch.params.get("reason", "")
    return lambda item, user: instances.instance_cancel(instance_id=item, user=user, reason=reason)


def _suspend(batch: Batch) -> Callable:
    return lambda item, user: instances.instance_suspend(
        instance_id=item, user=user, reason=batch.params.get("reason", "")
    )


def _resume(batch: Batch) -> Callable:
    return lambda item, user: instances.instance_resume(instance_id=item, user=user)


def _set_variables(batch: Batch) -> Callable:
    return lambda item, user: instances.instance_set_variables(
        instance_id=item, variables=batch.params["variables"], remove=batch.params.get("remove", []), user=user
    )


def _delete(batch: Batch) -> Callable:
    reason = batch.params.get("reason", "") or "deleted"

    def delete(item: int, user) -> None:
        """An open instance is cancelled first (its tasks, jobs and subscribers hear of it)."""
        status = ProcessInstance.objects.select_for_update().filter(pk=item).values_list("status", flat=True).first()
        if status is None:
            return  # deleted already (a chunk done again after a worker died, or by hand)
        if status in OPEN_STATUSES:
            instances.instance_cancel(instance_id=item, user=user, reason=reason)
        ProcessInstance.objects.filter(pk=item).delete()

    return delete


def _retry_incidents(batch: Batch) -> Callable:
    def retry(item: int, user) -> None:
        open_incidents = list(
            Incident.objects.filter(instance_id=item, resolved_at__isnull=True).values_list("pk", flat=True)
        )
        if not open_incidents:
            raise InstanceNotActive(f"Instance {item} has no open incident")
        for incident_id in open_incidents:
            jobs.incident_retry(incident_id=incident_id, user=user)

    return retry


_ACTIONS = {
    BatchKind.MIGRATE: _migrate,
    BatchKind.CANCEL: _cancel,
    BatchKind.SUSPEND: _suspend,
    BatchKind.RESUME: _resume,
    BatchKind.SET_VARIABLES: _set_variables,
    BatchKind.DELETE: _delete,
    BatchKind.RETRY_INCIDENTS: _retry_incidents,
}
