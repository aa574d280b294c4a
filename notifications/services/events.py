"""The event catalogue and emitting events into the outbox, in the caller's transaction.

Event names follow one scheme, ``workflow.<object>.<what happened>``, with a versioned
JSON payload (``"version": 1``); see docs/NOTIFICATIONS.md."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from contextlib import contextmanager
from contextvars import ContextVar
from typing import NamedTuple

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from bpm import config, writes

from ..models import (
    Channel,
    Delivery,
    InAppNotification,
    Preference,
    ProcessSubscription,
    WebhookSubscription,
)
from .delivery import _send_after_commit

logger = logging.getLogger(__name__)


class EventKind(NamedTuple):
    description: str
    defaults: tuple[str, ...]  # a person's channels unless their Preference says otherwise
    personal: bool  # reaches people (shown on the preferences page), not only webhooks


# The event catalogue (docs/NOTIFICATIONS.md). Every event goes to the webhooks that want
# it; personal events also reach people, on the channels their preferences choose.
EVENTS: dict[str, EventKind] = {
    "workflow.task.created": EventKind("A task opened for you or your group (when you opt in)", (), True),
    "workflow.task.assigned": EventKind("A task was assigned to you", (Channel.EMAIL, Channel.IN_APP), True),
    "workflow.task.claimed": EventKind("Someone claimed a task", (), False),
    "workflow.task.delegated": EventKind("A task was delegated", (), False),
    "workflow.task.due_soon": EventKind("A task of yours is due soon", (Channel.EMAIL, Channel.IN_APP), True),
    "workflow.task.overdue": EventKind("A task of yours is past its due date", (Channel.EMAIL, Channel.IN_APP), True),
    "workflow.task.escalated": EventKind(
        "An SLA step escalated a task of yours", (Channel.EMAIL, Channel.IN_APP), True
    ),
    "workflow.approval.requested": EventKind(
        "An approval waits for your decision", (Channel.EMAIL, Channel.IN_APP), True
    ),
    "workflow.approval.decided": EventKind("A request you started was approved or rejected", (Channel.IN_APP,), True),
    "workflow.instance.started": EventKind("An instance started", (), False),
    "workflow.instance.completed": EventKind(
        "A request you started, or an instance of a process you follow, completed", (Channel.IN_APP,), True
    ),
    "workflow.instance.failed": EventKind(
        "An instance of a process you follow stopped on an error", (Channel.EMAIL, Channel.IN_APP), True
    ),
    "workflow.instance.cancelled": EventKind("An instance was cancelled", (), False),
    "workflow.instance.suspended": EventKind("An instance was suspended", (), False),
    "workflow.instance.resumed": EventKind("A suspended instance was resumed", (), False),
    "workflow.incident.raised": EventKind(
        "A job of a process you follow ran out of retries", (Channel.EMAIL, Channel.IN_APP), True
    ),
    "workflow.incident.resolved": EventKind("An incident was retried", (), False),
    "workflow.step.completed": EventKind("A step of an instance completed", (), False),
    "workflow.alert.raised": EventKind(
        "A figure of your process passed an alert threshold", (Channel.EMAIL, Channel.IN_APP), True
    ),
    "workflow.alert.cleared": EventKind(
        "A figure of your process is back under its threshold", (Channel.IN_APP,), True
    ),
}
PERSONAL_EVENTS = [name for name, kind in EVENTS.items() if kind.personal]
# What people following a process (ProcessSubscription) hear about.
# instance event titles other than "<Object> <what>: <process> (<business key>)"
INSTANCE_TITLES = {"workflow.instance.completed": "Completed"}
FOLLOWER_EVENTS = {"workflow.instance.completed", "workflow.instance.failed", "workflow.incident.raised"}

# Within one state change the active subscriptions are read once for all its events
# (see batched_subscription_reads); outside one, every event reads them.
_subscriptions_memo: ContextVar[dict | None] = ContextVar("webhook_subscriptions_memo", default=None)


@contextmanager
def batched_subscription_reads():
    token = _subscriptions_memo.set({})
    try:
        yield
    finally:
        _subscriptions_memo.reset(token)


def _active_subscriptions() -> list[WebhookSubscription]:
    memo = _subscriptions_memo.get()
    if memo is not None and "rows" in memo:
        return memo["rows"]
    rows = config.cached("webhook_subscriptions", None, lambda: list(WebhookSubscription.objects.filter(active=True)))
    if memo is not None:
        memo["rows"] = rows
    return rows


def channels_for(user, event_type: str) -> tuple[str, ...]:
    """The channels a person gets for an event: their preference, else the defaults."""
    kind = EVENTS.get(event_type)
    defaults = kind.defaults if kind and kind.personal else ()
    chosen = _preferences(user.pk).get(event_type)
    return defaults if chosen is None else chosen


def _preferences(user_id: int) -> dict[str, tuple[str, ...]]:
    """A person's chosen channels per event kind (cached per configuration token)."""

    def load() -> dict[str, tuple[str, ...]]:
        rows = Preference.objects.filter(user_id=user_id).values_list("event_type", "email", "in_app")
        return {
            event: tuple(c for c, on in ((Channel.EMAIL, email), (Channel.IN_APP, in_app)) if on)
            for event, email, in_app in rows
        }

    return config.cached("notification_preferences", user_id, load)


def preferences_save(*, user, choices: dict[str, dict[str, bool]]) -> None:
    """Store a person's channels per event kind ({event: {"email": bool, "in_app": bool}})."""
    unknown = set(choices) - set(PERSONAL_EVENTS)
    if unknown:
        raise ValidationError({"event_type": [f"Unknown event kinds: {', '.join(sorted(unknown))}"]})
    with transaction.atomic():
        for event_type, channels in choices.items():
            Preference.objects.update_or_create(
                user=user,
                event_type=event_type,
                defaults={"email": bool(channels.get("email")), "in_app": bool(channels.get("in_app"))},
            )


def event_emit(
    *, event_type: str, payload: dict, process_key: str = "", users=(), title: str = "", link: str = ""
) -> list[int]:
    """Write the event's deliveries in the current transaction; they go out after commit."""
    now = timezone.now()
    body = {"version": 1, "type": event_type, "occurred_at": now.isoformat(), "data": payload}
    rows = []
    for user in users:
        if user is None:
            continue
        channels = channels_for(user, event_type)
        if Channel.IN_APP in channels:
            writes.insert([InAppNotification(user=user, event_type=event_type, title=title or event_type, link=link)])
        if Channel.EMAIL in channels and user.email:
            rows.append(
                Delivery(event_type=event_type, payload=body, channel=Channel.EMAIL, user=user, next_attempt_at=now)
            )
    for subscription in _active_subscriptions():
        if subscription.wants(event_type, process_key):
            rows.append(
                Delivery(
                    event_type=event_type,
                    payload=body,
                    channel=Channel.WEBHOOK,
                    subscription=subscription,
                    next_attempt_at=now,
                )
            )
    created = Delivery.objects.bulk_create(rows)
    ids = [d.pk for d in created]
    if ids:
        transaction.on_commit(lambda: _send_after_commit(ids))
    return ids


# After a failed publish this process stops nudging the broker for a while: each failed
# attempt costs seconds of connection retries, and the periodic sweep sends the rows anyway.

TASK_TITLES = {
    "workflow.task.created": "New task",
    "workflow.task.assigned": "Task for you",
    "workflow.task.claimed": "Task claimed",
    "workflow.task.delegated": "Task delegated",
    "workflow.task.due_soon": "Due soon",
    "workflow.task.overdue": "Overdue",
    "workflow.task.escalated": "Task escalated",
    "workflow.approval.requested": "Approval requested",
}


def task_event(event_type: str, task, *, user=None, users: Iterable = (), extra: dict | None = None) -> None:
    """Emit a task event to a person (or several) and to the webhooks that want it."""
    users = list(users)
    if user is None and not any(users) and not _webhooks_want(event_type, task.process_key):
        return  # nobody hears of it
    if task.pk is None:  # a task opened in this command, its row still in the write buffer
        writes.flush()
    link = f"/tasks/{task.pk}/"
    verb = TASK_TITLES.get(event_type, event_type)
    title = f"{verb}: {task.name}" + (f" ({task.business_key})" if task.business_key else "")
    payload = {
        "task_id": task.pk,
        "instance_id": task.instance_id,
        "process_key": task.process_key,
        "business_key": task.business_key,
        "task_name": task.name,
        "element_id": task.element_id,
        "assignee": task.assignee.get_username() if task.assignee_id else None,
        "priority": task.priority,
        "due_at": task.due_at.isoformat() if task.due_at else None,
        "title": title,
        "link": link,
        **(extra or {}),
    }
    event_emit(
        event_type=event_type,
        payload=payload,
        process_key=task.process_key,
        users=[user, *users] if user else list(users),
        title=title,
        link=link,
    )


def _webhooks_want(event_type: str, process_key: str) -> bool:
    return any(s.wants(event_type, process_key) for s in _active_subscriptions())


def _may_have_candidates(task) -> bool:
    """Whether a task has candidates to tell, without a query when they are known (a task the
    engine just opened carries them)."""
    known = getattr(task, "new_candidates", None)
    return known is None or bool(known)


def tasks_opened(tasks: list) -> None:
    """Events for newly opened tasks: ``task.created`` for each (to candidates who opted in),
    then ``approval.requested`` (approvals) or ``task.assigned`` to the assignee."""
    unassigned = [t for t in tasks if not t.assignee_id]
    opted_in = []
    if any(_may_have_candidates(t) for t in unassigned):
        opted_in = list(
            Preference.objects.filter(event_type="workflow.task.created")
            .filter(Q(email=True) | Q(in_app=True))
            .select_related("user")
            .prefetch_related("user__groups")
        )
    for task in tasks:
        recipients = []
        if not task.assignee_id and opted_in:
            candidates = getattr(task, "new_candidates", None)
            candidates = list(task.candidates.all()) if candidates is None else candidates
            user_ids = {c.user_id for c in candidates if c.user_id}
            group_names = {c.group_name for c in candidates if c.group_name}
            recipients = [
                p.user for p in opted_in if p.user_id in user_ids or group_names & {g.name for g in p.user.groups.all()}
            ]
        task_event("workflow.task.created", task, users=recipients)
        if task.assignee_id:
            if getattr(task, "is_approval", False):
                task_event("workflow.approval.requested", task, user=task.assignee)
                task_event("workflow.task.assigned", task)  # webhooks only: the person got the approval
            else:
                task_event("workflow.task.assigned", task, user=task.assignee)


def steps_completed(instance, steps: list) -> None:
    """One ``workflow.step.completed`` per completed step, for the webhooks that want it."""
    key = instance.definition.key
    if not any(s.wants("workflow.step.completed", key) for s in _active_subscriptions()):
        return
    for step in steps:
        event_emit(
            event_type="workflow.step.completed",
            payload={
                "instance_id": instance.pk,
                "process_key": key,
                "process_version": instance.definition.version,
                "business_key": instance.business_key,
                "element_id": step.element_id,
                "element_type": step.element_type,
                "step_name": step.name,
                "title": f"Step completed: {step.name or step.element_id}",
                "link": f"/processes/instances/{instance.pk}/",
            },
            process_key=key,
        )


def instance_event(
    event_type: str, instance, *, extra: dict | None = None, notify_initiator: bool = False, title: str = ""
) -> None:
    """Emit an instance-level event (started, failed, cancelled, incident...) to webhooks,
    and to whoever started the instance when ``notify_initiator``."""
    link = f"/processes/instances/{instance.pk}/"
    if not title:
        what = event_type.rsplit(".", 2)[-2:]
        title = INSTANCE_TITLES.get(event_type, f"{what[0].capitalize()} {what[1]}") + (
            f": {instance.definition.name}" + (f" ({instance.business_key})" if instance.business_key else "")
        )
    payload = {
        "instance_id": instance.pk,
        "process_key": instance.definition.key,
        "process_version": instance.definition.version,
        "business_key": instance.business_key,
        "status": instance.status,
        "link": link,
        "title": title or event_type,
        **(extra or {}),
    }
    users = [instance.started_by] if notify_initiator and instance.started_by_id else []
    if event_type in FOLLOWER_EVENTS:
        users += [u for u in _followers(instance.definition.key) if u not in users]
    if not users and not _webhooks_want(event_type, instance.definition.key):
        return  # nobody hears of it
    event_emit(
        event_type=event_type,
        payload=payload,
        process_key=instance.definition.key,
        users=users,
        title=payload["title"],
        link=link,
    )


def _followers(process_key: str) -> list:
    """The people following a process; who follows is cached per configuration token."""
    user_ids = config.cached(
        "process_followers",
        process_key,
        lambda: list(ProcessSubscription.objects.filter(process_key=process_key).values_list("user_id", flat=True)),
    )
    return list(get_user_model().objects.filter(pk__in=user_ids)) if user_ids else []


def process_follow(*, user, process_key: str, follow: bool = True) -> None:
    """Follow (or stop following) a process's completions, failures and incidents."""
    if follow:
        ProcessSubscription.objects.get_or_create(user=user, process_key=process_key)
    else:
        ProcessSubscription.objects.filter(user=user, process_key=process_key).delete()
