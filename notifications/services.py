"""Emit events into the outbox (in the caller's transaction) and deliver them after commit.

Event names follow one scheme, ``workflow.<object>.<what happened>``, with a versioned
JSON payload (``"version": 1``); see docs/NOTIFICATIONS.md.
"""

from __future__ import annotations

import html
import json
import logging
import random
import re
import time
from collections.abc import Iterable
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timedelta
from typing import NamedTuple
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import F, Q
from django.template import TemplateDoesNotExist
from django.template.loader import select_template
from django.utils import timezone

from bpm import locking, netguard, secrets

from . import webhooks
from .models import (
    Channel,
    Delivery,
    DeliveryStatus,
    InAppNotification,
    Preference,
    ProcessSubscription,
    WebhookSubscription,
)

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
MAX_ATTEMPTS = 6
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
    rows = list(WebhookSubscription.objects.filter(active=True))
    if memo is not None:
        memo["rows"] = rows
    return rows


def channels_for(user, event_type: str) -> tuple[str, ...]:
    """The channels a person gets for an event: their preference, else the defaults."""
    kind = EVENTS.get(event_type)
    defaults = kind.defaults if kind and kind.personal else ()
    preference = Preference.objects.filter(user=user, event_type=event_type).first()
    if preference is None:
        return defaults
    chosen = []
    if preference.email:
        chosen.append(Channel.EMAIL)
    if preference.in_app:
        chosen.append(Channel.IN_APP)
    return tuple(chosen)


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
            InAppNotification.objects.create(user=user, event_type=event_type, title=title or event_type, link=link)
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
_nudge_paused_until = 0.0


def _send_after_commit(ids: list[int]) -> None:
    global _nudge_paused_until
    from .tasks import deliver_pending

    if time.monotonic() < _nudge_paused_until:
        return
    try:
        deliver_pending.apply_async(retry=False)
    except Exception:  # the broker is down: the periodic sweep delivers them later
        _nudge_paused_until = time.monotonic() + settings.BPM["NUDGE_PAUSE_SECONDS"]
        logger.warning(
            "Could not queue %s deliveries; the sweep will send them (no new attempt for %s s)",
            len(ids),
            settings.BPM["NUDGE_PAUSE_SECONDS"],
        )


def subscription_check(*, url: str, event_types: list[str], format: str = "standard") -> None:
    """Field errors for a subscription: an address webhooks may not reach, unknown events."""
    from .models import WebhookFormat

    errors: dict[str, list[str]] = {}
    try:
        webhooks.resolve_safely(url)
    except webhooks.UnsafeAddress as exc:
        errors["url"] = [str(exc)]
    if not isinstance(event_types, list) or not all(isinstance(e, str) for e in event_types):
        errors["event_types"] = ['A list of event names, e.g. ["workflow.task.assigned"]']
        unknown = []
    else:
        unknown = [e for e in event_types if e not in EVENTS]
    if unknown:
        errors["event_types"] = [f"Unknown event types: {', '.join(unknown)} (see docs/NOTIFICATIONS.md)"]
    if format not in WebhookFormat.values:
        errors["format"] = [f"Unknown format {format!r}: one of {', '.join(WebhookFormat.values)}"]
    if errors:
        raise ValidationError(errors)


def subscription_create(
    *,
    name: str,
    url: str,
    event_types: list[str] | None = None,
    process_key: str = "",
    format: str = "standard",
    active: bool = True,
) -> tuple[WebhookSubscription, str]:
    """Create a subscription; the secret is returned once and stored encrypted."""
    subscription_check(url=url, event_types=event_types or [], format=format)
    secret = webhooks.new_secret()
    subscription = WebhookSubscription.objects.create(
        name=name,
        url=url,
        event_types=event_types or [],
        process_key=process_key,
        format=format,
        active=active,
        secret_encrypted=secrets.encrypt(secret),
    )
    return subscription, secret


def subscription_update(*, subscription_id: int, **fields) -> WebhookSubscription:
    """Change a subscription's name, URL, events, process, format or active flag (checked as at creation)."""
    allowed = {"name", "url", "event_types", "process_key", "format", "active"}
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationError({f: ["Cannot be changed"] for f in unknown})
    with transaction.atomic():
        subscription = WebhookSubscription.objects.select_for_update().get(pk=subscription_id)
        for name, value in fields.items():
            setattr(subscription, name, value)
        subscription_check(url=subscription.url, event_types=subscription.event_types, format=subscription.format)
        subscription.save()
    return subscription


def subscription_rotate_secret(*, subscription_id: int) -> str:
    """A new signing secret, returned once; requests are signed with it from now on."""
    secret = webhooks.new_secret()
    updated = WebhookSubscription.objects.filter(pk=subscription_id).update(secret_encrypted=secrets.encrypt(secret))
    if not updated:
        raise WebhookSubscription.DoesNotExist(f"Subscription {subscription_id} not found")
    return secret


def subscription_delete(*, subscription_id: int) -> None:
    """Remove a subscription with its outbox rows (pending ones are dropped, not sent)."""
    WebhookSubscription.objects.filter(pk=subscription_id).delete()


def dead_letters_replay_all() -> int:
    """Send every dead letter again; how many were queued."""
    count = Delivery.objects.filter(status=DeliveryStatus.DEAD).update(
        status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=timezone.now(), lock_token="", locked_until=None
    )
    if count:
        transaction.on_commit(lambda: _send_after_commit([]))
    return count


def deliveries_acquire(limit: int = 100, now=None, skip: Iterable[int] = ()) -> tuple[str, list[int]]:
    """Take due deliveries, and those whose sender's lease lapsed, for one sender.

    Taking one counts an attempt, so a delivery whose sender dies every time (a receiver that
    hangs the worker, say) ends as a dead letter instead of being tried for ever."""
    now = now or timezone.now()
    _bury_lapsed(now)
    due = Delivery.objects.filter(
        Q(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
        | Q(status=DeliveryStatus.SENDING, locked_until__lt=now)
    ).order_by("next_attempt_at", "id")
    if skip:
        due = due.exclude(pk__in=list(skip))
    return locking.acquire(
        due,
        limit,
        status=DeliveryStatus.SENDING,
        locked_until=now + timedelta(seconds=settings.BPM["DELIVERY_LEASE_SECONDS"]),
        attempts=F("attempts") + 1,
    )


def _bury_lapsed(now) -> None:
    """A lapsed lease on the last allowed attempt: a dead letter (visible, replayable), not lost."""
    Delivery.objects.filter(
        status=DeliveryStatus.SENDING,
        locked_until__lt=now,
        attempts__gte=settings.BPM.get("DELIVERY_MAX_ATTEMPTS", MAX_ATTEMPTS),
    ).update(
        status=DeliveryStatus.DEAD,
        lock_token="",
        locked_until=None,
        last_error="Its sender stopped while sending (worker or database gone) on the last attempt",
    )


class _RetryLater(Exception):
    def __init__(self, message: str, after: float | None = None):
        super().__init__(message)
        self.after = after


class _Gone(Exception):
    pass


def _post_webhook(delivery: Delivery) -> None:
    subscription = delivery.subscription
    try:
        target = webhooks.resolve_safely(subscription.url)
    except webhooks.UnsafeAddress as exc:
        raise _Gone(str(exc)) from exc
    host = target.host
    body = json.dumps(
        _chat_body(subscription.format, delivery.payload) or delivery.payload, separators=(",", ":")
    ).encode()
    timestamp = int(time.time())
    message_id = f"msg_{delivery.message_id.hex}"
    headers = {
        "Content-Type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": webhooks.sign(secrets.decrypt(subscription.secret_encrypted), message_id, timestamp, body),
    }
    # To the address checked above (no second lookup), TLS checked against the host name.
    try:
        response = netguard.request(
            target,
            "POST",
            headers=headers,
            body=body,
            timeout=settings.BPM["WEBHOOK_TIMEOUT_SECONDS"],
            max_bytes=64 * 1024,
            truncate=True,
        )
    except OSError as exc:
        raise _RetryLater(f"Could not reach {host}: {exc}") from exc
    if 200 <= response.status < 300:
        return
    if response.status == 410:
        WebhookSubscription.objects.filter(pk=subscription.pk).update(active=False)
        raise _Gone(f"HTTP 410 from {host}: the subscription was disabled")
    if response.status == 429:
        retry_after = response.headers.get("Retry-After")
        raise _RetryLater(
            f"HTTP 429 from {host}", after=float(retry_after) if retry_after and retry_after.isdigit() else None
        )
    raise _RetryLater(f"HTTP {response.status} from {host}")


def slack_escape(text: str) -> str:
    """Slack's control characters: ``<!channel>``, ``<@U1>`` and ``<url|label>`` in a business
    key or a name become plain text (https://api.slack.com/reference/surfaces/formatting)."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_TEAMS_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|~>])")


def teams_escape(text: str) -> str:
    """Teams cards render Markdown and some HTML: both become plain text (no links, no mentions)."""
    return _TEAMS_MARKDOWN.sub(r"\\\1", html.escape(str(text), quote=False))


def _chat_body(fmt: str, event: dict) -> dict | None:
    """Slack- or Teams-compatible message for chat incoming webhooks; None for signed JSON events.

    Titles carry names and business keys that users typed: they are escaped for each format."""
    data = event.get("data", {})
    base = settings.BPM.get("PUBLIC_URL", "").rstrip("/")
    title = str(data.get("title") or event.get("type"))
    link = f"{base}{data['link']}" if data.get("link") else ""
    if fmt == "slack":
        text = slack_escape(title)
        return {"text": f"{text} <{slack_escape(link)}|open>" if link else text}
    if fmt == "teams":
        title = teams_escape(title)
        card = {
            "@type": "MessageCard",
            "@context": "https://schema.org/extensions",
            "summary": title,
            "title": title,
            "text": event.get("type", ""),
        }
        if link:
            card["potentialAction"] = [
                {"@type": "OpenUri", "name": "Open", "targets": [{"os": "default", "uri": link}]}
            ]
        return card
    return None


def email_render(event: dict) -> tuple[str, str, str]:
    """(subject, text, html) for an event, from the most specific template there is:
    notifications/email/<event type>.txt|.html, then <object>.txt|.html (task, approval,
    instance, incident, step), then default.txt|.html. A project overrides any of them
    from a directory in BPM_TEMPLATE_DIRS."""
    event_type = event.get("type", "")
    data = event.get("data", {})
    base = settings.BPM.get("PUBLIC_URL", "").rstrip("/")
    obj = event_type.split(".")[1] if event_type.count(".") >= 2 else ""
    due_at = data.get("due_at")
    context = {
        "event": event,
        "data": data,
        "title": data.get("title") or event_type,
        "link": f"{base}{data['link']}" if data.get("link") else "",
        "preferences_link": f"{base}/notifications/preferences/",
        "site_name": settings.BPM.get("SITE_NAME", "BPM"),
        "due_at": datetime.fromisoformat(due_at) if due_at else None,
    }

    def render(ext: str) -> str:
        names = [f"notifications/email/{event_type}.{ext}", f"notifications/email/{obj}.{ext}"]
        return select_template([*names, f"notifications/email/default.{ext}"]).render(context)

    try:
        subject = select_template([f"notifications/email/{event_type}.subject.txt"]).render(context)
    except TemplateDoesNotExist:
        subject = context["title"]
    return " ".join(subject.split())[:200], render("txt").strip() + "\n", render("html")


def _send_email(delivery: Delivery) -> None:
    subject, text, html = email_render(delivery.payload)
    message = EmailMultiAlternatives(subject=subject, body=text, to=[delivery.user.email])
    message.attach_alternative(html, "text/html")
    # the outbox row's id: a mail sent twice after a crash is recognisable as one message
    host = urlsplit(settings.BPM.get("PUBLIC_URL", "")).hostname or "localhost"
    message.extra_headers["Message-ID"] = f"<{delivery.message_id}@{host}>"
    try:
        message.send()
    except OSError as exc:
        raise _RetryLater(f"Mail server: {exc}") from exc


def delivery_execute(*, delivery_id: int, token: str) -> str:
    """Send one taken delivery; 'delivered', 'retry', 'dead' or 'skipped' (not ours any more).

    Every outcome is written only while the delivery is still ours (its token): a sender
    whose lease lapsed and was taken over does not overwrite the new sender's state."""
    delivery = Delivery.objects.select_related("subscription", "user").filter(pk=delivery_id, lock_token=token).first()
    if delivery is None or delivery.status != DeliveryStatus.SENDING:
        return "skipped"
    attempts = delivery.attempts  # counted when it was taken
    ours = Delivery.objects.filter(pk=delivery_id, lock_token=token)
    done = {"lock_token": "", "locked_until": None}
    try:
        if delivery.channel == Channel.WEBHOOK:
            _post_webhook(delivery)
        elif delivery.channel == Channel.EMAIL:
            _send_email(delivery)
    except _Gone as exc:
        ours.update(status=DeliveryStatus.DEAD, last_error=str(exc)[:2000], **done)
        return "dead"
    except _RetryLater as exc:
        if attempts >= settings.BPM.get("DELIVERY_MAX_ATTEMPTS", MAX_ATTEMPTS):
            ours.update(status=DeliveryStatus.DEAD, last_error=str(exc)[:2000], **done)
            return "dead"
        base = settings.BPM["DELIVERY_RETRY_BASE_SECONDS"] * (2 ** (attempts - 1))
        delay = exc.after if exc.after is not None else base * random.uniform(0.5, 1.0)  # noqa: S311 - jitter
        ours.update(
            status=DeliveryStatus.PENDING,
            next_attempt_at=timezone.now() + timedelta(seconds=delay),
            last_error=str(exc)[:2000],
            **done,
        )
        return "retry"
    ours.update(status=DeliveryStatus.DELIVERED, delivered_at=timezone.now(), **done)
    return "delivered"


def deliver_due(now=None, budget_seconds: float = 20.0) -> dict[str, int]:
    """Send every due delivery, batch after batch, for up to ``budget_seconds`` (the sweep;
    also the demo's runner). Several workers may run it at once: rows are taken with
    SKIP LOCKED, so none is sent twice."""
    started = time.monotonic()
    outcomes: dict[str, int] = {}
    retried: set[int] = set()  # one attempt per sweep: their next try is a later sweep
    while True:
        token, ids = deliveries_acquire(now=now, skip=retried)
        # The batch's leases are renewed while this sender works through it.
        with locking.heartbeat(Delivery, token, settings.BPM["DELIVERY_LEASE_SECONDS"] if ids else 0):
            for delivery_id in ids:
                outcome = delivery_execute(delivery_id=delivery_id, token=token)
                outcomes[outcome] = outcomes.get(outcome, 0) + 1
                if outcome == "retry":
                    retried.add(delivery_id)
        if not ids or time.monotonic() - started > budget_seconds:
            return outcomes


def delivery_replay(*, delivery_id: int) -> Delivery:
    """Send a dead letter again (after the receiver was fixed)."""
    updated = Delivery.objects.filter(pk=delivery_id, status=DeliveryStatus.DEAD).update(
        status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=timezone.now(), lock_token="", locked_until=None
    )
    if not updated:
        from bpm.exceptions import Conflict

        raise Conflict(f"Delivery {delivery_id} is not a dead letter")
    transaction.on_commit(lambda: _send_after_commit([delivery_id]))
    return Delivery.objects.get(pk=delivery_id)


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


def tasks_opened(tasks: list) -> None:
    """Events for newly opened tasks: ``task.created`` for each (to candidates who opted in),
    then ``approval.requested`` (approvals) or ``task.assigned`` to the assignee."""
    unassigned = [t for t in tasks if not t.assignee_id]
    opted_in = []
    if unassigned:
        opted_in = list(
            Preference.objects.filter(event_type="workflow.task.created")
            .filter(Q(email=True) | Q(in_app=True))
            .select_related("user")
            .prefetch_related("user__groups")
        )
    for task in tasks:
        recipients = []
        if not task.assignee_id and opted_in:
            candidates = list(task.candidates.all())
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
        users += [
            s.user
            for s in ProcessSubscription.objects.filter(process_key=instance.definition.key).select_related("user")
            if s.user not in users
        ]
    event_emit(
        event_type=event_type,
        payload=payload,
        process_key=instance.definition.key,
        users=users,
        title=payload["title"],
        link=link,
    )


def process_follow(*, user, process_key: str, follow: bool = True) -> None:
    """Follow (or stop following) a process's completions, failures and incidents."""
    if follow:
        ProcessSubscription.objects.get_or_create(user=user, process_key=process_key)
    else:
        ProcessSubscription.objects.filter(user=user, process_key=process_key).delete()
