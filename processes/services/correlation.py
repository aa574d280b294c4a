"""Messages and signals: correlated from outside, and thrown by one instance to others in the same transaction."""

from __future__ import annotations

import threading
from typing import Any

from django.db import IntegrityError, transaction

from .. import variables as variable_rules
from ..choices import HistoryKind, InstanceStatus, WaitKind
from ..exceptions import (
    AmbiguousCorrelation,
    MessageAlreadyCorrelated,
    NothingWaitsForMessage,
)
from ..models import (
    CorrelatedMessage,
    ProcessDefinition,
    ProcessInstance,
    WaitingStep,
)
from .instances import instance_start
from .state import _apply_outcome, _history, _load_run, _lock_instance

# Messages and signals thrown by one instance reach other instances in the same transaction,
# so either every instance involved changes or none does. A chain of deliveries stops here:
_MAX_DELIVERY_DEPTH = 10
_delivery_depth = threading.local()


def _deliver_thrown_events(sender: ProcessInstance, events: list[dict], *, user=None) -> None:
    """Deliver what an instance threw and did not catch itself: messages to the instances
    waiting for them (those with the sender's business key when it has one) or to a process
    whose start event catches them; signals to every instance waiting for them."""
    depth = getattr(_delivery_depth, "value", 0)
    if depth >= _MAX_DELIVERY_DEPTH:
        return
    _delivery_depth.value = depth + 1
    try:
        for event in events:
            if event["kind"] == "message" and event["name"]:
                waiting = WaitingStep.objects.filter(
                    kind=WaitKind.MESSAGE, event_name=event["name"], instance__status=InstanceStatus.RUNNING
                ).exclude(instance=sender)
                if sender.business_key:
                    waiting = waiting.filter(instance__business_key=sender.business_key)
                targets = sorted(set(waiting.values_list("instance_id", flat=True)))
                for pk in targets:
                    _deliver_message(pk, event["name"], event["payload"], user)
                if not targets:
                    for definition in _message_start_definitions(event["name"]):
                        started = instance_start(definition=definition, business_key=sender.business_key, user=user)
                        _deliver_message(started.pk, event["name"], event["payload"], user)
            elif event["kind"] == "signal" and event["name"]:
                _broadcast(event["name"], event["payload"], user, exclude=sender.pk)
    finally:
        _delivery_depth.value = depth


def _message_start_definitions(message_name: str) -> list[ProcessDefinition]:
    return [
        d
        for d in ProcessDefinition.objects.filter(is_active=True, has_message_start=True)
        if any(e.get("type") == "startEvent" and e.get("message") == message_name for e in d.elements.values())
    ]


def _signal_start_definitions(signal_name: str) -> list[ProcessDefinition]:
    """Active versions whose process (not an event subprocess) starts on this signal."""
    return [
        d
        for d in ProcessDefinition.objects.filter(is_active=True)
        if any(
            e.get("type") == "startEvent" and e.get("signal") == signal_name and e.get("scope") == d.key
            for e in d.elements.values()
        )
    ]


def message_correlate(
    *,
    message_name: str,
    business_key: str = "",
    correlation_keys: dict[str, Any] | None = None,
    payload: dict[str, Any] | None = None,
    all_matches: bool = False,
    message_id: str = "",
    local_correlation_keys: dict[str, Any] | None = None,
    user=None,
) -> list[ProcessInstance]:
    """Deliver a message to the instance waiting for it, or start one whose start event catches it.

    Instances are matched on the message name, the business key and variables equal to
    ``correlation_keys``; ``local_correlation_keys`` match the variables of the waiting step
    itself (a multi-instance item, say), and only that step receives the message. Raises NothingWaitsForMessage (404) when none matches and
    AmbiguousCorrelation (409) when several do and ``all_matches`` is false. A ``message_id``
    is correlated at most once (MessageAlreadyCorrelated, 409, afterwards).
    """
    variable_rules.check(payload, field="payload")
    with transaction.atomic():
        if message_id:
            _claim_message_id(message_id, message_name)
        if local_correlation_keys:
            instances = _correlate_local(
                message_name, business_key, correlation_keys, local_correlation_keys, payload, all_matches, user
            )
        else:
            instances = _correlate(message_name, business_key, correlation_keys, payload, all_matches, user)
        if message_id:
            CorrelatedMessage.objects.filter(message_id=message_id).update(instance_ids=[i.pk for i in instances])
        return instances


def _claim_message_id(message_id: str, message_name: str) -> None:
    try:
        with transaction.atomic():
            CorrelatedMessage.objects.create(message_id=message_id, message_name=message_name)
    except IntegrityError:
        earlier = CorrelatedMessage.objects.filter(message_id=message_id).first()
        raise MessageAlreadyCorrelated(
            f"Message id '{message_id}' was already correlated"
            + (f" at {earlier.correlated_at.isoformat()} to instances {earlier.instance_ids}" if earlier else ""),
            details={"message_id": ["Already correlated; a message id is correlated at most once."]},
        ) from None


def _correlate(message_name, business_key, correlation_keys, payload, all_matches, user) -> list[ProcessInstance]:
    waiting = WaitingStep.objects.filter(
        kind=WaitKind.MESSAGE, event_name=message_name, instance__status=InstanceStatus.RUNNING
    )
    if business_key:
        waiting = waiting.filter(instance__business_key=business_key)
    for var, value in (correlation_keys or {}).items():
        waiting = waiting.filter(**{f"instance__variables__{var}": value})
    instance_ids = sorted(set(waiting.values_list("instance_id", flat=True)))
    if not instance_ids:
        starters = [
            d
            for d in ProcessDefinition.objects.filter(is_active=True, has_message_start=True)
            if any(e.get("type") == "startEvent" and e.get("message") == message_name for e in d.elements.values())
        ]
        if not starters:
            raise NothingWaitsForMessage(f"No instance waits for message '{message_name}' with these keys")
        if len(starters) > 1 and not all_matches:
            raise AmbiguousCorrelation(f"{len(starters)} processes start on message '{message_name}'")
        started = []
        for definition in starters:
            instance = instance_start(definition=definition, business_key=business_key, user=user)
            started.append(_deliver_message(instance.pk, message_name, payload, user))
        return started
    if len(instance_ids) > 1 and not all_matches:
        raise AmbiguousCorrelation(
            f"{len(instance_ids)} instances wait for message '{message_name}'; narrow the keys or correlate all"
        )
    return [_deliver_message(pk, message_name, payload, user) for pk in instance_ids]


def _correlate_local(message_name, business_key, correlation_keys, local_keys, payload, all_matches, user):
    """Match the waiting steps themselves: a single correlation must find exactly one step."""
    waiting = WaitingStep.objects.filter(
        kind=WaitKind.MESSAGE, event_name=message_name, instance__status=InstanceStatus.RUNNING
    )
    if business_key:
        waiting = waiting.filter(instance__business_key=business_key)
    for var, value in (correlation_keys or {}).items():
        waiting = waiting.filter(**{f"instance__variables__{var}": value})
    matches: list[tuple[int, str]] = []
    for instance_id in sorted(set(waiting.values_list("instance_id", flat=True))):
        run = _load_run(_lock_instance(instance_id))
        matches += [(instance_id, task_id) for task_id in run.message_catchers(message_name, local_keys)]
    if not matches:
        raise NothingWaitsForMessage(f"No step waits for message '{message_name}' with these local keys")
    if len(matches) > 1 and not all_matches:
        raise AmbiguousCorrelation(f"{len(matches)} steps wait for message '{message_name}' with these local keys")
    reached = []
    for instance_id, task_id in matches:
        instance = _lock_instance(instance_id)
        run = _load_run(instance)
        run.send_message(message_name, payload, spiff_task_id=task_id)
        event = _history(
            instance, HistoryKind.MESSAGE_CORRELATED, actor=user, name=message_name, data={"payload": payload or {}}
        )
        reached.append(_apply_outcome(instance, run, actor=user, events=[event]))
    return reached


def _deliver_message(instance_id: int, message_name: str, payload, user) -> ProcessInstance:
    instance = _lock_instance(instance_id)
    run = _load_run(instance)
    if not run.send_message(message_name, payload):
        raise NothingWaitsForMessage(f"Instance {instance_id} no longer waits for message '{message_name}'")
    event = _history(
        instance, HistoryKind.MESSAGE_CORRELATED, actor=user, name=message_name, data={"payload": payload or {}}
    )
    return _apply_outcome(instance, run, actor=user, events=[event])


def signal_broadcast(*, signal_name: str, payload: dict[str, Any] | None = None, user=None) -> list[ProcessInstance]:
    """Deliver a signal to every instance waiting for it (in id order); returns the instances reached."""
    variable_rules.check(payload, field="payload")
    with transaction.atomic():
        return _broadcast(signal_name, payload, user)


def _broadcast(signal_name: str, payload, user, exclude: int | None = None) -> list[ProcessInstance]:
    waiting = WaitingStep.objects.filter(
        kind=WaitKind.SIGNAL, event_name=signal_name, instance__status=InstanceStatus.RUNNING
    )
    if exclude is not None:
        waiting = waiting.exclude(instance_id=exclude)
    reached = []
    for definition in _signal_start_definitions(signal_name):
        # a signal start event starts one instance of each process that has one
        started = instance_start(definition=definition, user=user)
        instance = _lock_instance(started.pk)
        run = _load_run(instance)
        if run.send_signal(signal_name, payload):
            event = _history(
                instance, HistoryKind.SIGNAL_RECEIVED, actor=user, name=signal_name, data={"payload": payload or {}}
            )
            reached.append(_apply_outcome(instance, run, actor=user, events=[event]))
    started_ids = {i.pk for i in reached}
    for pk in sorted(set(waiting.values_list("instance_id", flat=True)) - started_ids):
        instance = _lock_instance(pk)
        run = _load_run(instance)
        if run.send_signal(signal_name, payload):
            event = _history(
                instance, HistoryKind.SIGNAL_RECEIVED, actor=user, name=signal_name, data={"payload": payload or {}}
            )
            reached.append(_apply_outcome(instance, run, actor=user, events=[event]))
    return reached


def conditions_evaluate(
    *, variables: dict[str, Any] | None = None, business_key: str = "", user=None, may_start=None
) -> list[ProcessInstance]:
    """Camunda's condition evaluation: start an instance of every active process whose
    conditional start event holds over these variables (in key order); the instances started.
    ``may_start(definition)`` decides for the caller (the API checks start permissions)."""
    from ..engine import runtime

    variable_rules.check(variables)
    data = dict(variables or {})
    started = []
    with transaction.atomic():
        for definition in ProcessDefinition.objects.filter(is_active=True).order_by("key"):
            conditions = [
                e["condition"]
                for e in definition.elements.values()
                if e.get("type") == "startEvent" and e.get("scope") == definition.key and e.get("condition")
            ]
            if not conditions or not any(runtime.condition_holds(c, data) for c in conditions):
                continue
            if may_start is not None and not may_start(definition):
                continue
            started.append(instance_start(definition=definition, variables=data, business_key=business_key, user=user))
    return started
