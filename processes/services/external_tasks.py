"""External tasks (``camunda:type="external"``) taken by workers, as Camunda 7's protocol has it.

An external task is the waiting-step row of kind ``external`` (its topic in ``event_name``).
A worker fetches and locks tasks of its topics (``fetch_and_lock``), then completes them, reports
a failure (retries; at none left an incident), throws a BPMN error, extends or gives up its lock.
A lock belongs to its worker id until it expires; an expired lock is free for any worker.
Every command is one transaction; completing and BPMN errors go through the instance's
one rule of state (``state.py``), so nothing here is a second engine path.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from bpm.exceptions import ApplicationError, Conflict, InvalidInput, NotFound
from notifications import services as notifications

from .. import selectors
from .. import variables as variable_rules
from ..choices import HistoryKind, InstanceStatus, WaitKind
from ..models import Incident, ProcessInstance, WaitingStep
from .instances import instance_complete_step, instance_set_variables
from .jobs import instance_throw_error
from .state import _lock_instance, history_append


class ExternalTaskNotFound(NotFound):
    code = "external_task_not_found"


class ExternalTaskLocked(Conflict):
    """The task is locked by another worker (or not locked by the caller)."""

    code = "external_task_locked"


class BpmnErrorNotCaught(ApplicationError):
    code = "bpmn_error_not_caught"
    status = 400


@dataclass
class TopicRequest:
    """One topic of a fetchAndLock request."""

    topic: str
    lock_duration_ms: int
    variables: list[str] | None = None  # None: all variables
    business_key: str | None = None
    process_definition_keys: list[str] = field(default_factory=list)
    process_definition_ids: list[str] = field(default_factory=list)
    process_variables: dict[str, Any] = field(default_factory=dict)  # instance variables equal to these


@dataclass
class LockedTask:
    step: WaitingStep
    instance: ProcessInstance
    variables: dict[str, Any]


def visible_external_tasks(user) -> QuerySet[WaitingStep]:
    """External tasks of the instances the user may see."""
    return WaitingStep.objects.filter(
        kind=WaitKind.EXTERNAL, instance__in=selectors.instances_visible_to(user).values("pk")
    ).select_related("instance", "instance__definition")


def _workable(user) -> Q:
    """Who may work external tasks: the global right to change instances, or owning the process."""
    if selectors.user_can_change_instances(user):
        return Q()
    owned = selectors._keys_with_object_perm(user, ["processes.own_process"])
    return Q(instance__definition__key__in=owned)


def _task_key(task_id: str | UUID) -> UUID:
    try:
        return UUID(str(task_id))
    except ValueError:
        raise ExternalTaskNotFound(f"External task with id {task_id} does not exist") from None


def external_task_get(task_id: str | UUID, user) -> WaitingStep:
    """An external task of an instance the user may see, or ExternalTaskNotFound."""
    step = visible_external_tasks(user).filter(spiff_task_id=_task_key(task_id)).first()
    if step is None:
        raise ExternalTaskNotFound(f"External task with id {task_id} does not exist")
    return step


def _get_for_update(task_id: str | UUID, user, *, lock_instance: bool = False) -> WaitingStep:
    """The task's row, locked. A command that moves the instance on locks the instance first,
    as every instance command does before it touches the instance's rows (no deadlock with
    a command that closes this task meanwhile)."""
    key = _task_key(task_id)
    workable = WaitingStep.objects.filter(_workable(user), kind=WaitKind.EXTERNAL, spiff_task_id=key)
    instance = None
    if lock_instance:
        instance_id = workable.values_list("instance_id", flat=True).first()
        if instance_id is None:
            raise ExternalTaskNotFound(f"External task with id {task_id} does not exist")
        instance = _lock_instance(instance_id)
        step = workable.select_for_update().first()
    else:
        step = workable.select_for_update(of=("self",)).select_related("instance", "instance__definition").first()
    if step is None:  # closed while the instance lock was awaited
        raise ExternalTaskNotFound(f"External task with id {task_id} does not exist")
    if instance is not None:
        step.instance = instance
    return step


def _lock_free(now: datetime.datetime) -> Q:
    return Q(lock_expires_at__isnull=True) | Q(lock_expires_at__lte=now)


def _check_owner(step: WaitingStep, worker_id: str, action: str) -> None:
    if step.lock_expires_at is None:
        holder = "not locked"
    elif step.lock_expires_at <= timezone.now():
        holder = f"its lock by worker {step.worker_id} expired"
    elif step.worker_id != worker_id:
        holder = f"locked by worker {step.worker_id}"
    else:
        return
    raise ExternalTaskLocked(
        f"External Task {step.spiff_task_id} cannot be {action} by worker '{worker_id}': it is {holder}."
    )


def _variables_for(instance: ProcessInstance, names: list[str] | None) -> dict[str, Any]:
    variables = instance.variables or {}
    if names is None:
        return dict(variables)
    return {name: variables[name] for name in names if name in variables}


def fetch_and_lock(
    *, worker_id: str, max_tasks: int, topics: list[TopicRequest], use_priority: bool = False, user
) -> list[LockedTask]:
    """Lock up to ``max_tasks`` free external tasks of the topics for the worker (one
    transaction; rows other workers are locking are skipped, never waited for)."""
    if not worker_id:
        raise InvalidInput("workerId is required", details={"workerId": ["This field is required."]})
    if max_tasks <= 0 or not topics:
        return []
    now = timezone.now()
    by_topic = {t.topic: t for t in topics}
    matches = Q()
    for topic in topics:
        condition = Q(event_name=topic.topic)
        if topic.business_key is not None:
            condition &= Q(instance__business_key=topic.business_key)
        if topic.process_definition_keys:
            condition &= Q(instance__definition__key__in=topic.process_definition_keys)
        if topic.process_definition_ids:
            condition &= Q(instance__definition_id__in=[i for i in topic.process_definition_ids if i.isdigit()])
        for name, value in topic.process_variables.items():
            if not name.isidentifier():
                raise InvalidInput(f"processVariables: '{name}' is not a variable name")
            condition &= Q(**{f"instance__variables__{name}": value})
        matches |= condition
    order = ["-priority", "created_at", "id"] if use_priority else ["created_at", "id"]
    with transaction.atomic():
        steps = list(
            WaitingStep.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("instance", "instance__definition")
            .filter(matches, _lock_free(now), _workable(user), kind=WaitKind.EXTERNAL)
            .filter(Q(retries__isnull=True) | Q(retries__gt=0))
            .filter(instance__status=InstanceStatus.RUNNING)
            .order_by(*order)[:max_tasks]
        )
        locked = []
        for step in steps:
            request = by_topic[step.event_name]
            step.worker_id = worker_id
            step.lock_expires_at = now + datetime.timedelta(milliseconds=max(request.lock_duration_ms, 0))
            locked.append(LockedTask(step, step.instance, _variables_for(step.instance, request.variables)))
        if steps:
            WaitingStep.objects.bulk_update(steps, ["worker_id", "lock_expires_at"])
    return locked


def complete(
    *, task_id: str, worker_id: str, variables: dict | None = None, local_variables: dict | None = None, user
) -> ProcessInstance:
    """The worker finished its task: the variables become process variables (local ones too:
    the task's scope ends with it) and the instance runs on until it waits."""
    data = {**(variables or {}), **(local_variables or {})}
    variable_rules.check(data, field="variables")
    with transaction.atomic():
        step = _get_for_update(task_id, user, lock_instance=True)
        _check_owner(step, worker_id, "completed")
        return instance_complete_step(
            instance_id=step.instance_id,
            spiff_task_id=str(step.spiff_task_id),
            data=data,
            user=user,
            locked=step.instance,
        )


def handle_failure(
    *,
    task_id: str,
    worker_id: str,
    error_message: str = "",
    error_details: str = "",
    retries: int | None = None,
    retry_timeout_ms: int = 0,
    user,
) -> WaitingStep:
    """The worker failed: the task keeps the error and its retries; it is offered again after
    ``retry_timeout_ms``; with no retries left an incident is raised, as in Camunda."""
    if retries is not None and retries < 0:
        raise InvalidInput("retries must not be negative", details={"retries": ["Must be 0 or more."]})
    with transaction.atomic():
        step = _get_for_update(task_id, user)
        _check_owner(step, worker_id, "failed")
        step.error_message = (error_message or "")[:4000]
        step.error_details = error_details or ""
        step.retries = retries if retries is not None else 0
        step.lock_expires_at = timezone.now() + datetime.timedelta(milliseconds=max(retry_timeout_ms, 0))
        step.save(update_fields=["error_message", "error_details", "retries", "lock_expires_at"])
        if step.retries == 0:
            _raise_incident(step, user)
        return step


def _raise_incident(step: WaitingStep, user) -> None:
    message = step.error_message or f"The external task of topic '{step.event_name}' failed"
    incident = Incident.objects.create(
        instance_id=step.instance_id, external_task_id=step.spiff_task_id, element_id=step.element_id, message=message
    )
    history_append(
        instance_id=step.instance_id,
        definition_id=step.instance.definition_id,
        kind=HistoryKind.INCIDENT_RAISED,
        actor=user,
        element_id=step.element_id,
        data={"incident": incident.pk, "external_task": str(step.spiff_task_id), "message": message[:500]},
    )
    notifications.instance_event(
        "workflow.incident.raised", step.instance, extra={"incident": incident.pk, "element_id": step.element_id}
    )


def set_retries(*, task_id: str, retries: int, user) -> WaitingStep:
    """Set how often the task may still fail; above zero it is offered again and its open
    incident is resolved (Camunda's way to retry a failed external task)."""
    if retries < 0:
        raise InvalidInput("retries must not be negative", details={"retries": ["Must be 0 or more."]})
    with transaction.atomic():
        step = _get_for_update(task_id, user)
        step.retries = retries
        step.save(update_fields=["retries"])
        if retries > 0:
            resolve_incidents(step.instance, [step.spiff_task_id], user)
        elif not Incident.objects.filter(external_task_id=step.spiff_task_id, resolved_at__isnull=True).exists():
            _raise_incident(step, user)
        return step


def resolve_incidents(instance: ProcessInstance, task_ids: list, user) -> None:
    """Resolve the open incidents of these external tasks (retried, or ended with their step)."""
    incidents = list(
        Incident.objects.filter(instance=instance, external_task_id__in=task_ids, resolved_at__isnull=True)
    )
    if not incidents:
        return
    now = timezone.now()
    actor = user if getattr(user, "is_authenticated", False) else None
    Incident.objects.filter(pk__in=[i.pk for i in incidents]).update(resolved_at=now, resolved_by=actor)
    for incident in incidents:
        history_append(
            instance_id=instance.pk,
            definition_id=instance.definition_id,
            kind=HistoryKind.INCIDENT_RESOLVED,
            actor=user,
            element_id=incident.element_id,
            data={"incident": incident.pk},
        )


def handle_bpmn_error(
    *,
    task_id: str,
    worker_id: str,
    error_code: str,
    error_message: str = "",
    variables: dict | None = None,
    user,
) -> ProcessInstance:
    """The worker threw a BPMN error: the variables are set, then the error is thrown at the
    task. When no boundary event or event subprocess catches the code, nothing changes and the
    caller is told (Camunda would end the instance silently)."""
    if not error_code:
        raise InvalidInput("errorCode is required", details={"errorCode": ["This field is required."]})
    variable_rules.check(variables, field="variables")
    with transaction.atomic():
        step = _get_for_update(task_id, user, lock_instance=True)
        _check_owner(step, worker_id, "reported with a BPMN error")
        if variables:
            instance_set_variables(instance_id=step.instance_id, variables=variables, user=user)
        caught = instance_throw_error(
            instance_id=step.instance_id, spiff_task_id=str(step.spiff_task_id), code=error_code, message=error_message
        )
        if not caught:
            raise BpmnErrorNotCaught(
                f"No boundary event or event subprocess catches the BPMN error '{error_code}' thrown at "
                f"'{step.element_id}'; nothing was changed",
                details={"element_id": step.element_id, "errorCode": error_code},
            )
        return ProcessInstance.objects.get(pk=step.instance_id)


def extend_lock(*, task_id: str, worker_id: str, new_duration_ms: int, user) -> WaitingStep:
    if new_duration_ms <= 0:
        raise InvalidInput("newDuration must be positive", details={"newDuration": ["Must be more than 0."]})
    with transaction.atomic():
        step = _get_for_update(task_id, user)
        _check_owner(step, worker_id, "extended")
        step.lock_expires_at = timezone.now() + datetime.timedelta(milliseconds=new_duration_ms)
        step.save(update_fields=["lock_expires_at"])
        return step


def unlock(*, task_id: str, user) -> WaitingStep:
    with transaction.atomic():
        step = _get_for_update(task_id, user)
        step.worker_id, step.lock_expires_at = "", None
        step.save(update_fields=["worker_id", "lock_expires_at"])
        transaction.on_commit(lambda: notify_available([step.event_name]))
        return step


# Long polling: a worker waiting in fetchAndLock is woken when tasks of its topics may be free.
# The web layer registers how (an in-process event and Redis pub/sub); see camunda_rest.
_AVAILABLE_LISTENERS: list[Callable[[list[str]], None]] = []


def register_available_listener(listener: Callable[[list[str]], None]) -> None:
    if listener not in _AVAILABLE_LISTENERS:
        _AVAILABLE_LISTENERS.append(listener)


def notify_available(topics: list[str]) -> None:
    for listener in _AVAILABLE_LISTENERS:
        listener(topics)


def priority_of(instance: ProcessInstance, element_id: str, variables: dict) -> int:
    """camunda:taskPriority of the task, else of its process (a number or an expression)."""
    from ..engine import expressions, scripting

    definition = instance.definition
    raw = definition.element(element_id).camunda.get("taskPriority")
    if raw is None:
        raw = definition.element(definition.key).camunda.get("taskPriority")
    if raw in (None, ""):
        return 0
    value = expressions.evaluate_attribute(raw, instance.expression_context(variables), scripting.evaluate)
    try:
        return int(value)
    except (TypeError, ValueError):
        raise InvalidInput(
            f"The priority of external task '{element_id}' is not an integer: {value!r} (camunda:taskPriority '{raw}')",
            details={"element_id": element_id},
        ) from None


__all__ = [
    "BpmnErrorNotCaught",
    "ExternalTaskLocked",
    "ExternalTaskNotFound",
    "LockedTask",
    "TopicRequest",
    "complete",
    "external_task_get",
    "extend_lock",
    "fetch_and_lock",
    "handle_bpmn_error",
    "handle_failure",
    "notify_available",
    "priority_of",
    "register_available_listener",
    "resolve_incidents",
    "set_retries",
    "unlock",
    "visible_external_tasks",
]
