"""Standard Webhooks signing and the address guard for outgoing HTTP."""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import secrets as pysecrets
import socket
import urllib.parse

from django.conf import settings

METADATA_ADDRESSES = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
CGNAT = ipaddress.ip_network("100.64.0.0/10")


class UnsafeAddress(ValueError):
    """The URL resolves to an address webhooks may not reach."""


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


def resolve_safely(url: str) -> tuple[str, str]:
    """(host, the address to connect to): resolved once; private, loopback, link-local, CGNAT
    and cloud metadata addresses are refused unless settings allow them (tests allow loopback)."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeAddress(f"Not an http(s) URL: {url}")
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
    except socket.gaierror as exc:
        raise UnsafeAddress(f"Cannot resolve {parts.hostname}: {exc}") from exc
    address = ipaddress.ip_address(infos[0][4][0])
    allowed = {ipaddress.ip_network(n) for n in settings.BPM.get("WEBHOOK_ALLOWED_NETWORKS", [])}
    if any(address in network for network in allowed):
        return parts.hostname, str(address)
    if (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_reserved
        or address.is_multicast
        or address in CGNAT
        or address in METADATA_ADDRESSES
    ):
        raise UnsafeAddress(
            f"{parts.hostname} resolves to {address}, a private or internal address webhooks may not reach "
            "(BPM_WEBHOOK_ALLOWED_NETWORKS allows it)"
        )
    return parts.hostname, str(address)
