"""Standard Webhooks signing and the address guard for outgoing HTTP."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets as pysecrets

from django.conf import settings

from bpm import netguard

UnsafeAddress = netguard.UnsafeAddress


def new_secret() -> str:
    return "whsec_" + base64.b64encode(pysecrets.token_bytes(24)).decode()


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The webhook-signature header value: v1,<base64 HMAC-SHA256 over id.timestamp.body>."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """What a receiver runs (documented in docs/NOTIFICATIONS.md)."""
    expected = sign(secret, headers["webhook-id"], int(headers["webhook-timestamp"]), body).split(",", 1)[1]
    return any(
        hmac.compare_digest(expected, part.split(",", 1)[1])
        for part in headers["webhook-signature"].split()
        if part.startswith("v1,")
    )


def resolve_safely(url: str) -> netguard.Target:
    """The checked target of a webhook URL (bpm.netguard); BPM_WEBHOOK_ALLOWED_NETWORKS lets
    internal networks through (tests allow loopback)."""
    return netguard.resolve_safely(
        url, settings.BPM.get("WEBHOOK_ALLOWED_NETWORKS", []), setting="BPM_WEBHOOK_ALLOWED_NETWORKS"
    )
