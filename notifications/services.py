"""Emit events into the outbox (in the caller's transaction) and deliver them after commit.

Event names follow one scheme, ``workflow.<object>.<what happened>``, with a versioned
JSON payload (``"version": 1``); see docs/NOTIFICATIONS.md.
"""

from __future__ import annotations

import http.client
import json
import logging
import random
import time
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from bpm import locking
from processes import secrets

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

# Which channels a person gets per event kind (per-user preferences come later).
PERSONAL_CHANNELS = {
    "workflow.task.assigned": (Channel.EMAIL, Channel.IN_APP),
    "workflow.task.escalated": (Channel.EMAIL, Channel.IN_APP),
    "workflow.instance.completed": (Channel.IN_APP,),
    "workflow.approval.decided": (Channel.IN_APP,),
    "workflow.instance.failed": (Channel.EMAIL, Channel.IN_APP),
    "workflow.incident.raised": (Channel.EMAIL, Channel.IN_APP),
}
MAX_ATTEMPTS = 6
# What people following a process (ProcessSubscription) hear about.
FOLLOWER_EVENTS = {"workflow.instance.completed", "workflow.instance.failed", "workflow.incident.raised"}


def channels_for(user, event_type: str) -> tuple[str, ...]:
    """The channels a person gets for an event: their preference, else the defaults."""
    defaults = PERSONAL_CHANNELS.get(event_type, ())
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
    unknown = set(choices) - set(PERSONAL_CHANNELS)
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
    for subscription in WebhookSubscription.objects.filter(active=True):
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


def _send_after_commit(ids: list[int]) -> None:
    from .tasks import deliver_pending

    try:
        deliver_pending.delay()
    except Exception:  # the broker is down: the periodic sweep delivers them later
        logger.warning("Could not queue %s deliveries; the sweep will send them", len(ids))


def subscription_create(
    *, name: str, url: str, event_types: list[str] | None = None, process_key: str = "", format: str = "standard"
) -> tuple[WebhookSubscription, str]:
    """Create a subscription; the secret is returned once and stored encrypted."""
    try:
        webhooks.resolve_safely(url)
    except webhooks.UnsafeAddress as exc:
        raise ValidationError({"url": [str(exc)]}) from None
    secret = webhooks.new_secret()
    subscription = WebhookSubscription.objects.create(
        name=name,
        url=url,
        event_types=event_types or [],
        process_key=process_key,
        format=format,
        secret_encrypted=secrets.encrypt(secret),
    )
    return subscription, secret


def deliveries_acquire(limit: int = 100, now=None) -> tuple[str, list[int]]:
    now = now or timezone.now()
    due = Delivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now).order_by(
        "next_attempt_at", "id"
    )
    return locking.acquire(due, limit, status=DeliveryStatus.SENDING)


class _RetryLater(Exception):
    def __init__(self, message: str, after: float | None = None):
        super().__init__(message)
        self.after = after


class _Gone(Exception):
    pass


def _post_webhook(delivery: Delivery) -> None:
    subscription = delivery.subscription
    try:
        host, address = webhooks.resolve_safely(subscription.url)
    except webhooks.UnsafeAddress as exc:
        raise _Gone(str(exc)) from exc
    body = json.dumps(
        _chat_body(subscription.format, delivery.payload) or delivery.payload, separators=(",", ":")
    ).encode()
    timestamp = int(time.time())
    message_id = f"msg_{delivery.message_id.hex}"
    headers = {
        "Content-Type": "application/json",
        "Host": host,
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": webhooks.sign(secrets.decrypt(subscription.secret_encrypted), message_id, timestamp, body),
    }
    from urllib.parse import urlsplit

    parts = urlsplit(subscription.url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    factory = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    # Connect to the address checked above (no second lookup), with short timeouts.
    conn = factory(address, port, timeout=settings.BPM["WEBHOOK_TIMEOUT_SECONDS"])
    try:
        target = (parts.path or "/") + ("?" + parts.query if parts.query else "")
        conn.request("POST", target, body=body, headers=headers)
        response = conn.getresponse()
        response.read(64 * 1024)
    except OSError as exc:
        raise _RetryLater(f"Could not reach {host}: {exc}") from exc
    finally:
        conn.close()
    if 200 <= response.status < 300:
        return
    if response.status == 410:
        WebhookSubscription.objects.filter(pk=subscription.pk).update(active=False)
        raise _Gone(f"HTTP 410 from {host}: the subscription was disabled")
    if response.status == 429:
        retry_after = response.getheader("Retry-After")
        raise _RetryLater(
            f"HTTP 429 from {host}", after=float(retry_after) if retry_after and retry_after.isdigit() else None
        )
    raise _RetryLater(f"HTTP {response.status} from {host}")


def _chat_body(fmt: str, event: dict) -> dict | None:
    """Slack- or Teams-compatible message for chat incoming webhooks; None for signed JSON events."""
    data = event.get("data", {})
    base = settings.BPM.get("PUBLIC_URL", "").rstrip("/")
    title = data.get("title") or event.get("type")
    link = f"{base}{data['link']}" if data.get("link") else ""
    if fmt == "slack":
        return {"text": f"{title} <{link}|open>" if link else title}
    if fmt == "teams":
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


def _send_email(delivery: Delivery) -> None:
    data = delivery.payload.get("data", {})
    link = data.get("link", "")
    base = settings.BPM.get("PUBLIC_URL", "").rstrip("/")
    text = (
        f"{data.get('title') or delivery.event_type}\n\n{base}{link}\n"
        if link
        else f"{data.get('title') or delivery.event_type}\n"
    )
    try:
        send_mail(
            subject=data.get("title") or delivery.event_type,
            message=text,
            from_email=None,
            recipient_list=[delivery.user.email],
        )
    except OSError as exc:
        raise _RetryLater(f"Mail server: {exc}") from exc


def delivery_execute(*, delivery_id: int, token: str) -> str:
    """Send one delivery; 'delivered', 'retry', 'dead' or 'skipped'."""
    delivery = Delivery.objects.select_related("subscription", "user").filter(pk=delivery_id, lock_token=token).first()
    if delivery is None or delivery.status != DeliveryStatus.SENDING:
        return "skipped"
    attempts = delivery.attempts + 1
    try:
        if delivery.channel == Channel.WEBHOOK:
            _post_webhook(delivery)
        elif delivery.channel == Channel.EMAIL:
            _send_email(delivery)
    except _Gone as exc:
        Delivery.objects.filter(pk=delivery_id).update(
            status=DeliveryStatus.DEAD, attempts=attempts, last_error=str(exc)[:2000]
        )
        return "dead"
    except _RetryLater as exc:
        if attempts >= settings.BPM.get("DELIVERY_MAX_ATTEMPTS", MAX_ATTEMPTS):
            Delivery.objects.filter(pk=delivery_id).update(
                status=DeliveryStatus.DEAD, attempts=attempts, last_error=str(exc)[:2000]
            )
            return "dead"
        base = settings.BPM["DELIVERY_RETRY_BASE_SECONDS"] * (2 ** (attempts - 1))
        delay = exc.after if exc.after is not None else base * random.uniform(0.5, 1.0)  # noqa: S311 - jitter
        Delivery.objects.filter(pk=delivery_id).update(
            status=DeliveryStatus.PENDING,
            attempts=attempts,
            next_attempt_at=timezone.now() + timedelta(seconds=delay),
            last_error=str(exc)[:2000],
            lock_token="",
        )
        return "retry"
    Delivery.objects.filter(pk=delivery_id).update(
        status=DeliveryStatus.DELIVERED, attempts=attempts, delivered_at=timezone.now()
    )
    return "delivered"


def deliver_due(now=None) -> dict[str, int]:
    """Send every due delivery in this process (the sweep; also the demo's runner)."""
    token, ids = deliveries_acquire(now=now)
    outcomes: dict[str, int] = {}
    for delivery_id in ids:
        outcome = delivery_execute(delivery_id=delivery_id, token=token)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes


def delivery_replay(*, delivery_id: int) -> Delivery:
    """Send a dead letter again (after the receiver was fixed)."""
    updated = Delivery.objects.filter(pk=delivery_id, status=DeliveryStatus.DEAD).update(
        status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=timezone.now(), lock_token=""
    )
    if not updated:
        from bpm.exceptions import Conflict

        raise Conflict(f"Delivery {delivery_id} is not a dead letter")
    return Delivery.objects.get(pk=delivery_id)


def task_event(event_type: str, task, *, user=None, extra: dict | None = None) -> None:
    """Emit a task event to a person (and the webhooks that want it)."""
    link = f"/tasks/{task.pk}/"
    verb = {"workflow.task.assigned": "Task for you", "workflow.task.escalated": "Task escalated"}.get(
        event_type, event_type
    )
    title = f"{verb}: {task.name}" + (f" ({task.business_key})" if task.business_key else "")
    payload = {
        "task_id": task.pk,
        "instance_id": task.instance_id,
        "process_key": task.process_key,
        "business_key": task.business_key,
        "task_name": task.name,
        "assignee": task.assignee.get_username() if task.assignee_id else None,
        "due_at": task.due_at.isoformat() if task.due_at else None,
        "title": title,
        "link": link,
        **(extra or {}),
    }
    event_emit(
        event_type=event_type,
        payload=payload,
        process_key=task.process_key,
        users=[user] if user else [],
        title=title,
        link=link,
    )


def instance_event(
    event_type: str, instance, *, extra: dict | None = None, notify_initiator: bool = False, title: str = ""
) -> None:
    """Emit an instance-level event (started, failed, cancelled, incident...) to webhooks,
    and to whoever started the instance when ``notify_initiator``."""
    link = f"/processes/instances/{instance.pk}/"
    if not title:
        what = event_type.rsplit(".", 2)[-2:]
        title = f"{what[0].capitalize()} {what[1]}: {instance.definition.name}" + (
            f" ({instance.business_key})" if instance.business_key else ""
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


def instance_completed(instance) -> None:
    title = f"Completed: {instance.definition.name}" + (f" ({instance.business_key})" if instance.business_key else "")
    payload = {
        "instance_id": instance.pk,
        "process_key": instance.definition.key,
        "process_version": instance.definition.version,
        "business_key": instance.business_key,
        "title": title,
        "link": f"/processes/instances/{instance.pk}/",
        "ended_at": instance.ended_at.isoformat() if instance.ended_at else None,
    }
    users = [instance.started_by] if instance.started_by_id else []
    users += [
        s.user
        for s in ProcessSubscription.objects.filter(process_key=instance.definition.key).select_related("user")
        if s.user not in users
    ]
    event_emit(
        event_type="workflow.instance.completed",
        payload=payload,
        process_key=instance.definition.key,
        users=users,
        title=title,
        link=payload["link"],
    )
