"""Commands on one instance: start, complete a step, force-complete, cancel, suspend, resume, change variables."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import prefetch_related_objects
from django.utils import timezone

from bpm.exceptions import InvalidInput
from notifications import services as notifications

from .. import variables as variable_rules
from .. import waiting
from ..choices import HistoryKind, InstanceStatus, WaitKind
from ..engine import runtime
from ..exceptions import (
    DefinitionNotFound,
    DefinitionSuspended,
    DuplicateBusinessKey,
    ForceCompleteRefused,
    InstanceNotActive,
    StepNotCompletable,
    StepNotWaiting,
)
from ..models import (
    OPEN_STATUSES,
    HistoryEvent,
    Job,
    JobStatus,
    ProcessDefinition,
    ProcessInstance,
    WaitingStep,
)
from .deploy import specs_for
from .state import _apply_outcome, _history, _known_rows, _load_run, _lock_instance, _refuse_suspended


def _resolve_definition(definition: ProcessDefinition | None, key: str | None) -> ProcessDefinition:
    found = definition or ProcessDefinition.objects.filter(key=key, is_active=True).first()
    if found is None:
        raise DefinitionNotFound(f"No deployed process with key '{key}'")
    if found.is_suspended:
        raise DefinitionSuspended(
            f"Version {found.version} of '{found.key}' is suspended: no new instances until it is resumed"
        )
    return found


def instance_start(
    *,
    definition: ProcessDefinition | None = None,
    key: str | None = None,
    variables: dict[str, Any] | None = None,
    business_key: str = "",
    user=None,
) -> ProcessInstance:
    """Start an instance (of the active version when given a key) and run it until it waits."""
    variable_rules.check(variables)
    definition = _resolve_definition(definition, key)
    specs = specs_for(definition)
    data = dict(variables or {})
    if getattr(user, "is_authenticated", False):
        data["initiator"] = user.get_username()
        for name in _initiator_variables(definition):  # camunda:initiator on the start event
            data[name] = user.get_username()
    try:
        return _start(definition, specs, data, business_key, user)
    except IntegrityError as exc:
        # the partial unique index decides, so concurrent starts cannot both win; no pre-check query
        if "instance_open_business_key_unique" not in str(exc):
            raise
        raise DuplicateBusinessKey(
            f"An open instance of '{definition.key}' already has business key '{business_key}'",
            details={"business_key": [f"'{business_key}' is in use by an open instance of {definition.key}."]},
        ) from None


def _initiator_variables(definition: ProcessDefinition) -> list[str]:
    return [
        element["camunda"]["initiator"]
        for element in (definition.elements or {}).values()
        if element.get("type") == "startEvent"
        and element.get("scope") == definition.key
        and (element.get("camunda") or {}).get("initiator")
    ]


def _start(definition: ProcessDefinition, specs, data: dict, business_key: str, user) -> ProcessInstance:
    with transaction.atomic():
        run = runtime.Run.start(specs, data)
        run.set_business_key(business_key)
        run.advance()
        instance = ProcessInstance(
            definition=definition,
            business_key=business_key or "",
            started_by=user if getattr(user, "is_authenticated", False) else None,
        )
        started = _history(
            instance,
            HistoryKind.INSTANCE_STARTED,
            actor=user,
            data={"variables": runtime.serializer.to_json_value(data)},
        )
        return _apply_outcome(instance, run, actor=user, events=[started], new=True)


def instance_complete_step(
    *,
    instance_id: int,
    spiff_task_id: str,
    data: dict[str, Any] | None = None,
    user=None,
    locked: ProcessInstance | None = None,
) -> ProcessInstance:
    """Complete a waiting user or manual task of an instance with data, then run until it waits.

    ``locked``: the instance as the caller locked it in this transaction (``lock_instance``),
    so the row is not read and locked a second time. That caller's transaction is the
    command: a failure here fails all of it, so no savepoint is taken (it would also split
    the command's writes into several statements)."""
    variable_rules.check(data, field="data")
    with transaction.atomic(savepoint=locked is None):
        instance = locked if locked is not None and locked.pk == instance_id else _lock_instance(instance_id)
        _refuse_suspended(instance)
        if instance.status != InstanceStatus.RUNNING:
            raise InstanceNotActive(f"Instance {instance_id} is {instance.status}")
        run = _load_run(instance)
        try:
            run.complete_task(spiff_task_id, data)
        except runtime.EngineActionError as exc:
            raise StepNotWaiting(str(exc)) from exc
        return _apply_outcome(instance, run, actor=user, completed_step=str(spiff_task_id))


def external_task_complete(
    *, instance_id: int, spiff_task_id: str, variables: dict[str, Any] | None = None, user=None
) -> ProcessInstance:
    """A worker finished an external task (camunda:type="external"): its variables become
    process variables and the instance runs on until it waits."""
    with transaction.atomic():
        instance = _lock_instance(instance_id)
        step = instance.waiting_steps.filter(spiff_task_id=spiff_task_id).first()
        if step is None or step.kind != WaitKind.EXTERNAL:
            raise StepNotWaiting(f"No external task {spiff_task_id} waits in instance {instance_id}")
        return instance_complete_step(
            instance_id=instance_id, spiff_task_id=spiff_task_id, data=variables, user=user, locked=instance
        )


# Who completes a waiting step by hand. A human step follows the task rules (candidates, claim,
# four-eyes, an approval's decision with its record), which live in the tasks app above this
# layer: it registers them here in its AppConfig.ready().
_HUMAN_STEP_COMPLETER: list = []
HUMAN_STEP_KINDS = (WaitKind.USER, WaitKind.MANUAL)


def register_human_step_completer(completer) -> None:
    """``completer(instance_id=, spiff_task_id=, data=, user=)`` completes a human step under the
    task rules and returns the instance, or None when no open task waits at that step."""
    _HUMAN_STEP_COMPLETER[:] = [completer]


def step_complete(*, instance_id: int, spiff_task_id: str, data: dict[str, Any] | None = None, user) -> ProcessInstance:
    """Complete a waiting step on behalf of a person or system, under the rules of its kind.

    A user or manual task goes through the task rules; a receive task without a message is
    triggered here; a service task waits for its connector job and events for their message,
    signal or timer, so neither is completed here.

    The task rules are asked first: on the common path (an open task at that step) the
    waiting-step row is never read, and the answer is the instance as the command left it."""
    if _HUMAN_STEP_COMPLETER:
        instance = _HUMAN_STEP_COMPLETER[0](
            instance_id=instance_id, spiff_task_id=str(spiff_task_id), data=data, user=user
        )
        if instance is not None:
            return _answered(instance)
    step = WaitingStep.objects.filter(instance_id=instance_id, spiff_task_id=spiff_task_id).first()
    if step is None:
        raise StepNotWaiting(f"Instance {instance_id} does not wait at step {spiff_task_id}")
    if step.kind in HUMAN_STEP_KINDS and _HUMAN_STEP_COMPLETER:
        raise StepNotWaiting(f"No open task waits at step {spiff_task_id} of instance {instance_id}")
    if step.kind == WaitKind.RECEIVE:  # Camunda's "signal the execution": triggered from outside
        return instance_complete_step(instance_id=instance_id, spiff_task_id=str(spiff_task_id), data=data, user=user)
    how = {
        WaitKind.ASYNC: "its asynchronous continuation runs as a job",
        WaitKind.EXTERNAL: f"an external worker of topic '{step.event_name}' completes it",
        WaitKind.CONDITIONAL: "it goes on when its condition holds (set the variables)",
        WaitKind.SERVICE: "its result comes from its connector job",
        WaitKind.TIMER: "it fires when its timer is due",
        WaitKind.MESSAGE: f"it waits for the message '{step.event_name}' (correlate it)",
        WaitKind.SIGNAL: f"it waits for the signal '{step.event_name}' (send it)",
    }.get(step.kind, "it waits for its event")
    raise StepNotCompletable(
        f"Step '{step.element_id}' is not completed by hand: {how}. "
        "An administrator can force-complete it with a reason.",
        details={"element_id": step.element_id, "kind": step.kind},
    )


def _answered(instance: ProcessInstance) -> ProcessInstance:
    """The instance as a command left it, ready for the API's answer: its starter and what it
    waits at come from the command when it knows them; its incidents are read."""
    if "started_by" not in instance._state.fields_cache and instance.started_by_id:
        instance.started_by  # noqa: B018 - one read, for the answer
    if getattr(instance, "incidents_at_lock", True) is False:
        _known_rows(instance, incidents=[])  # none when locked, and a step's command opens none
    known = getattr(instance, "_prefetched_objects_cache", {})
    prefetch = [name for name in ("incidents", "waiting_steps") if name not in known]
    if prefetch:
        prefetch_related_objects([instance], *prefetch)
    return instance


def user_may_force_complete(user) -> bool:
    return bool(
        getattr(user, "is_authenticated", False)
        and (user.is_superuser or user.has_perm("processes.force_complete_step"))
    )


def instance_force_complete_step(
    *, instance_id: int, spiff_task_id: str, reason: str, data: dict[str, Any] | None = None, user
) -> ProcessInstance:
    """An administrator completes a waiting user, manual or service task without its rules
    (no claim, no four-eyes, no approval record), with a reason kept in the history."""
    if not user_may_force_complete(user):
        raise ForceCompleteRefused("Only administrators may force-complete a step.")
    if not (reason or "").strip():
        raise InvalidInput("Say why the step is force-completed.", details={"reason": ["A reason is required."]})
    with transaction.atomic():
        step = WaitingStep.objects.filter(instance_id=instance_id, spiff_task_id=spiff_task_id).first()
        if step is None:
            raise StepNotWaiting(f"Instance {instance_id} does not wait at step {spiff_task_id}")
        instance = _lock_instance(instance_id)
        # Recorded before the step's own events, as the cause; a refusal below rolls it back.
        _history(
            instance,
            HistoryKind.STEP_FORCE_COMPLETED,
            actor=user,
            element_id=step.element_id,
            element_type=step.element_type,
            name=step.name,
            data={"reason": reason.strip(), "variables": sorted((data or {}).keys())},
        ).save()
        return instance_complete_step(
            instance_id=instance_id, spiff_task_id=spiff_task_id, data=data, user=user, locked=instance
        )


def instance_cancel(*, instance_id: int, user=None, reason: str = "") -> ProcessInstance:
    """Cancel an open instance: its waiting points close and it ends as cancelled."""
    with transaction.atomic():
        instance = _lock_instance(instance_id)
        if instance.status not in OPEN_STATUSES:
            raise InstanceNotActive(f"Instance {instance_id} is already {instance.status}")
        return end_cancelled(instance, _load_run(instance), user=user, reason=reason)


def end_cancelled(instance: ProcessInstance, run: runtime.Run, *, user=None, reason: str = "") -> ProcessInstance:
    """End a locked, loaded instance as cancelled: its waiting points, tasks and jobs close."""
    run.cancel()
    Job.objects.filter(instance=instance, status__in=[JobStatus.PENDING, JobStatus.SUSPENDED]).delete()
    instance.state = run.outcome().state
    instance.status = InstanceStatus.CANCELLED
    instance.ended_at = timezone.now()
    instance.save(update_fields=["state", "status", "ended_at", "updated_at"])
    instance.waiting_steps.all().delete()
    waiting.cancelled(instance=instance)
    notifications.instance_event("workflow.instance.cancelled", instance, extra={"reason": reason})
    HistoryEvent.objects.create(
        instance=instance,
        definition_id=instance.definition_id,
        kind=HistoryKind.INSTANCE_CANCELLED,
        data={"reason": reason},
        actor=user if getattr(user, "is_authenticated", False) else None,
    )
    return instance


def instance_suspend(*, instance_id: int, user=None, reason: str = "") -> ProcessInstance:
    """Pause a running instance: its timers and other jobs wait, its steps cannot be completed,
    messages and signals pass it by, until it is resumed."""
    with transaction.atomic():
        instance = _lock_instance(instance_id)
        if instance.status != InstanceStatus.RUNNING:
            raise InstanceNotActive(f"Instance {instance_id} is {instance.status}; only a running one can be suspended")
        instance.status = InstanceStatus.SUSPENDED
        instance.save(update_fields=["status", "updated_at"])
        Job.objects.filter(instance=instance, status=JobStatus.PENDING).update(status=JobStatus.SUSPENDED)
        _history(instance, HistoryKind.INSTANCE_SUSPENDED, actor=user, data={"reason": reason}).save()
        notifications.instance_event("workflow.instance.suspended", instance, extra={"reason": reason})
        return instance


def instance_resume(*, instance_id: int, user=None) -> ProcessInstance:
    """Let a suspended instance go on; timers that fell due meanwhile fire at the next tick."""
    with transaction.atomic():
        instance = _lock_instance(instance_id)
        if instance.status != InstanceStatus.SUSPENDED:
            raise InstanceNotActive(f"Instance {instance_id} is {instance.status}, not suspended")
        instance.status = InstanceStatus.RUNNING
        instance.save(update_fields=["status", "updated_at"])
        Job.objects.filter(instance=instance, status=JobStatus.SUSPENDED).update(status=JobStatus.PENDING)
        _history(instance, HistoryKind.INSTANCE_RESUMED, actor=user).save()
        notifications.instance_event("workflow.instance.resumed", instance)
        return instance


def instance_set_variables(
    *, instance_id: int, variables: dict[str, Any], remove: Iterable[str] = (), user=None
) -> ProcessInstance:
    """Change variables of an open instance (what its waiting steps will carry on with);
    recorded in the history with the old and new values."""
    variable_rules.check(variables, removing=tuple(remove))
    with transaction.atomic():
        instance = _lock_instance(instance_id)
        if instance.status not in OPEN_STATUSES:
            raise InstanceNotActive(f"Instance {instance_id} is {instance.status}; its variables are final")
        run = _load_run(instance)
        run.set_variables(runtime.serializer.to_json_value(dict(variables)), list(remove))
        if instance.status == InstanceStatus.RUNNING:
            run.advance()  # conditional events see the new values (a suspended instance waits)
        status = instance.status
        instance = _apply_outcome(instance, run, actor=user)
        if status != InstanceStatus.RUNNING and instance.status == InstanceStatus.RUNNING:
            # changing variables never changes the status: the outcome knows nothing of a
            # suspension, and an instance in error stays so until its step is retried
            instance.status = status
            instance.save(update_fields=["status"])
        return instance
