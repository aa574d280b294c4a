"""Webhook subscriptions: checked (address guard, known events), created with a secret shown once, rotated, removed."""

from __future__ import annotations

import logging

from django.core.exceptions import ValidationError
from django.db import transaction

from bpm import secrets

from .. import webhooks
from ..models import (
    WebhookSubscription,
)
from .events import EVENTS

logger = logging.getLogger(__name__)


def subscription_check(*, url: str, event_types: list[str], format: str = "standard") -> None:
    """Field errors for a subscription: an address webhooks may not reach, unknown events."""
    from ..models import WebhookFormat

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
