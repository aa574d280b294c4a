"""Signed webhooks (Standard Webhooks), to the address the guard checked."""

from __future__ import annotations

import json
import logging
import time

from django.conf import settings

from bpm import config, netguard, secrets

from ... import webhooks
from ...models import (
    Delivery,
    WebhookSubscription,
)
from . import _Gone, _RetryLater
from .chat import _chat_body

logger = logging.getLogger(__name__)


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
        config.changed()  # commands stop emitting to it (bpm/config.py)
        raise _Gone(f"HTTP 410 from {host}: the subscription was disabled")
    if response.status == 429:
        retry_after = response.headers.get("Retry-After")
        raise _RetryLater(
            f"HTTP 429 from {host}", after=float(retry_after) if retry_after and retry_after.isdigit() else None
        )
    raise _RetryLater(f"HTTP {response.status} from {host}")
