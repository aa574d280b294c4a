"""Checking open instances against the engine's invariant, and repairing what can be."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction

from ..choices import InstanceStatus
from ..exceptions import ApplicationError
from ..models import ProcessInstance, WaitingStep
from .state import _apply_outcome, _load_run, _lock_instance, waiting_step_row


@dataclass
class InstanceCheck:
    """What is wrong with one open instance, and what a repair did."""

    instance_id: int
    process_key: str
    business_key: str
    problems: list[str] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)


def instances_check(*, repair: bool = False, instance_ids: list[int] | None = None) -> list[InstanceCheck]:
    """Each running instance must wait at a human task, an event, a job or an incident, and
    its waiting-step rows must be where the engine waits. Returns the instances that break
    it; with ``repair``, fixes what can be fixed (one transaction per instance)."""
    open_instances = ProcessInstance.objects.filter(status__in=[InstanceStatus.RUNNING, InstanceStatus.ERROR])
    if instance_ids:
        open_instances = open_instances.filter(pk__in=instance_ids)
    found = []
    for instance_id in open_instances.order_by("pk").values_list("pk", flat=True):
        check = _check_one(instance_id, repair)
        if check.problems:
            found.append(check)
    return found


def _check_one(instance_id: int, repair: bool) -> InstanceCheck:
    with transaction.atomic():
        instance = _lock_instance(instance_id)
        check = InstanceCheck(instance.pk, instance.process_key, instance.business_key)
        if instance.status == InstanceStatus.ERROR:
            check.problems.append(
                f"in error at '{instance.error_element_id}': {instance.error_message} "
                "(retry the failed step after fixing its cause, or cancel it)"
            )
            return check
        run = _load_run(instance)
        engine_points = {(w.spiff_task_id, w.element_id, w.kind) for w in run.waiting()}
        rows = set(WaitingStep.objects.filter(instance=instance).values_list("spiff_task_id", "element_id", "kind"))
        rows = {(str(spiff_task_id), element_id, kind) for spiff_task_id, element_id, kind in rows}
        if not engine_points:
            check.problems.append("running but waiting at nothing")
        elif rows != engine_points:
            check.problems.append(
                f"waiting-step rows {sorted(e for _, e, _ in rows)} differ from where the engine waits "
                f"{sorted(e for _, e, _ in engine_points)}"
            )
        if not repair or not check.problems:
            return check
        if engine_points:
            _resync_rows(instance, run, rows, engine_points)
            check.repaired.append("waiting-step rows re-synced to where the engine waits")
            return check
        sid = transaction.savepoint()
        try:
            merged = run.merge_orphaned_children()
            run.waiting_before = rows
            _apply_outcome(instance, run)  # opens the new waiting points (tasks, jobs) as any command does
        except ApplicationError as exc:
            transaction.savepoint_rollback(sid)
            check.repaired.append(f"not repaired: {exc.message}")
            return check
        transaction.savepoint_commit(sid)
        if merged:
            check.repaired.append(f"handed {merged} completed multi-instance step(s) back to their loop")
        waits = ", ".join(instance.waiting_steps.values_list("element_id", flat=True))
        check.repaired.append(f"now waits at {waits}")
        return check


def _resync_rows(instance: ProcessInstance, run, rows: set, engine_points: set) -> None:
    """Only the rows: the human tasks and jobs of those points are kept as they are."""
    stale = rows - engine_points
    for spiff_task_id, element_id, _ in stale:
        WaitingStep.objects.filter(instance=instance, spiff_task_id=spiff_task_id, element_id=element_id).delete()
    WaitingStep.objects.bulk_create(
        [waiting_step_row(instance, w) for w in run.waiting() if (w.spiff_task_id, w.element_id, w.kind) not in rows]
    )
