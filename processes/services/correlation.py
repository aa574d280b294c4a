"""Messages and signals: correlated from outside, and thrown by one instance to others in the same transaction."""

from __future__ import annotations

import threading
from typing import Any

from django.db import IntegrityError, transaction

from .. import variables as variable_rules
from ..choices import HistoryKind, InstanceStatus, WaitKind
from ..exceptions import (
    AmbiguousCorrelation,
    CommandFailed,
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


def _process_starts(flag: dict | None = None) -> list[tuple[ProcessDefinition, str, dict]]:
    """(active version, start event id, its metadata) of processes' own start events
    (event-subprocess starts left out)."""
    definitions = ProcessDefinition.objects.filter(is_active=True, is_suspended=False, **(flag or {})).order_by("key")
    return [
        (d, element_id, e)
        for d in definitions
        for element_id, e in d.elements.items()
        if e.get("type") == "startEvent" and e.get("scope", d.key) == d.key
    ]


def _message_start_definitions(message_name: str) -> list[ProcessDefinition]:
    starts = _process_starts({"has_message_start": True})
    return list({d.pk: d for d, _, e in starts if e.get("message") == message_name}.values())


def _signal_start_definitions(signal_name: str) -> list[ProcessDefinition]:
    """Active versions whose process (not an event subprocess) starts on this signal."""
    return list({d.pk: d for d, _, e in _process_starts() if e.get("signal") == signal_name}.values())


def _message_subscriptions(message_name: str, business_key: str, correlation_keys: dict | None):
    """Waiting steps of running instances that wait for this message and match the keys."""
    waiting = WaitingStep.objects.filter(
        kind=WaitKind.MESSAGE, event_name=message_name, instance__status=InstanceStatus.RUNNING
    )
    if business_key:
        waiting = waiting.filter(instance__business_key=business_key)
    for var, value in (correlation_keys or {}).items():
        waiting = waiting.filter(**{f"instance__variables__{var}": value})
    return waiting


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
    waiting = _message_subscriptions(message_name, business_key, correlation_keys)
    instance_ids = sorted(set(waiting.values_list("instance_id", flat=True)))
    if not instance_ids:
        starters = _message_start_definitions(message_name)
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
    waiting = _message_subscriptions(message_name, business_key, correlation_keys)
    found = []  # (locked instance, its run, the ids of its matching steps)
    for instance_id in sorted(set(waiting.values_list("instance_id", flat=True))):
        instance = _lock_instance(instance_id)
        run = _load_run(instance)
        task_ids = run.message_catchers(message_name, local_keys)
        if task_ids:
            found.append((instance, run, task_ids))
    count = sum(len(task_ids) for _, _, task_ids in found)
    if not count:
        raise NothingWaitsForMessage(f"No step waits for message '{message_name}' with these local keys")
    if count > 1 and not all_matches:
        raise AmbiguousCorrelation(f"{count} steps wait for message '{message_name}' with these local keys")
    reached = []
    for instance, run, task_ids in found:
        for task_id in task_ids:
            run.send_message(message_name, payload, spiff_task_id=task_id)
        reached.append(
            _apply_outcome(instance, run, actor=user, events=[_correlated(instance, message_name, payload, user)])
        )
    return reached


def _correlated(instance, message_name: str, payload, user):
    return _history(
        instance, HistoryKind.MESSAGE_CORRELATED, actor=user, name=message_name, data={"payload": payload or {}}
    )


def _deliver_message(instance_id: int, message_name: str, payload, user) -> ProcessInstance:
    instance = _lock_instance(instance_id)
    run = _load_run(instance)
    if not run.send_message(message_name, payload):
        raise NothingWaitsForMessage(f"Instance {instance_id} no longer waits for message '{message_name}'")
    return _apply_outcome(instance, run, actor=user, events=[_correlated(instance, message_name, payload, user)])


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
    waiting_ids = sorted(set(waiting.values_list("instance_id", flat=True)))
    # a signal start event starts one instance of each process that has one
    started_ids = [instance_start(definition=d, user=user).pk for d in _signal_start_definitions(signal_name)]
    reached = [_deliver_signal(pk, signal_name, payload, user) for pk in started_ids + waiting_ids]
    return [instance for instance in reached if instance is not None]


def _deliver_signal(instance_id: int, signal_name: str, payload, user) -> ProcessInstance | None:
    instance = _lock_instance(instance_id)
    run = _load_run(instance)
    if not run.send_signal(signal_name, payload):
        return None
    event = _history(
        instance, HistoryKind.SIGNAL_RECEIVED, actor=user, name=signal_name, data={"payload": payload or {}}
    )
    return _apply_outcome(instance, run, actor=user, events=[event])


def conditions_evaluate(
    *, variables: dict[str, Any] | None = None, business_key: str = "", user=None, may_start=None
) -> list[ProcessInstance]:
    """Camunda's condition evaluation: start an instance of every active process whose
    conditional start event holds over these variables (in key order); the instances started.
    ``may_start(definition)`` decides for the caller (the API checks start permissions). A
    condition that fails (not one over a missing variable, which is false) refuses the call."""
    from ..engine import runtime

    variable_rules.check(variables)
    data = dict(variables or {})
    conditions: dict[int, list] = {}
    definitions: dict[int, ProcessDefinition] = {}
    for definition, start_id, start in _process_starts():
        if start.get("condition"):
            conditions.setdefault(definition.pk, []).append((start_id, start["condition"]))
            definitions[definition.pk] = definition
    started = []
    with transaction.atomic():
        for pk, starts in conditions.items():
            definition = definitions[pk]
            if may_start is not None and not may_start(definition):
                continue
            holds = False
            for start_id, condition in starts:
                try:
                    holds = holds or runtime.condition_holds(condition, data)
                except Exception as exc:  # a failing condition refuses the call (422), never a 500
                    raise CommandFailed(f"{condition}: {exc}", element_id=start_id) from exc
            if holds:
                started.append(
                    instance_start(definition=definition, variables=data, business_key=business_key, user=user)
                )
    return started
