"""Connections: credentials for service tasks, applied to HTTP calls; secrets never leave encrypted."""

from __future__ import annotations

import base64
import json
import threading
import time
import urllib.parse
import urllib.request

from django.core.exceptions import ValidationError
from django.db import transaction

from bpm import secrets

from .models import Connection, ConnectionAuth

_tokens: dict[int, tuple[str, float]] = {}
_tokens_lock = threading.Lock()


def connection_save(
    *, name: str, base_url: str, auth: str = ConnectionAuth.NONE, secret: str | None = None, **fields
) -> Connection:
    """Create or update a connection; ``secret`` None or '' keeps the stored one."""
    if auth not in ConnectionAuth.values:
        raise ValidationError({"auth": [f"Choose one of {', '.join(ConnectionAuth.values)}."]})
    with transaction.atomic():
        connection, _ = Connection.objects.select_for_update().get_or_create(name=name, defaults={"base_url": base_url})
        connection.base_url = base_url
        connection.auth = auth
        for field in ("username", "api_key_header", "token_url", "scope"):
            if field in fields:
                setattr(connection, field, fields[field] or "")
        if secret:
            connection.secret_encrypted = secrets.encrypt(secret)
        connection.full_clean()
        connection.save()
    with _tokens_lock:
        _tokens.pop(connection.pk, None)
    return connection


def _oauth2_token(connection: Connection, timeout: float) -> str:
    with _tokens_lock:
        cached = _tokens.get(connection.pk)
    if cached and cached[1] > time.monotonic() + 30:
        return cached[0]
    form = {
        "grant_type": "client_credentials",
        "client_id": connection.username,
        "client_secret": secrets.decrypt(connection.secret_encrypted),
    }
    if connection.scope:
        form["scope"] = connection.scope
    request = urllib.request.Request(  # noqa: S310 - a URL the administrator configured
        connection.token_url, data=urllib.parse.urlencode(form).encode(), method="POST"
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
        body = json.loads(response.read(65536))
    token = body["access_token"]
    with _tokens_lock:
        _tokens[connection.pk] = (token, time.monotonic() + float(body.get("expires_in", 300)))
    return token


def auth_headers(connection: Connection, timeout: float = 10.0) -> dict[str, str]:
    """The headers that authenticate a call through this connection."""
    secret = secrets.decrypt(connection.secret_encrypted) if connection.auth != ConnectionAuth.OAUTH2 else ""
    if connection.auth == ConnectionAuth.BASIC:
        return {"Authorization": "Basic " + base64.b64encode(f"{connection.username}:{secret}".encode()).decode()}
    if connection.auth == ConnectionAuth.BEARER:
        return {"Authorization": f"Bearer {secret}"}
    if connection.auth == ConnectionAuth.API_KEY:
        return {connection.api_key_header or "X-API-Key": secret}
    if connection.auth == ConnectionAuth.OAUTH2:
        return {"Authorization": f"Bearer {_oauth2_token(connection, timeout)}"}
    return {}


def resolve_url(connection: Connection, url: str) -> str:
    """A relative url (``/quotes``) is taken relative to the connection's base URL."""
    if url.startswith(("http://", "https://")):
        return url
    return connection.base_url.rstrip("/") + "/" + url.lstrip("/")


def connection_verify(*, connection: Connection) -> tuple[bool, str]:
    """Make a harmless call (GET the base URL with the credentials) and say how it went."""
    from .connectors import ConnectorError, http_connector

    try:
        result = http_connector({"connection": connection.name, "url": connection.base_url, "method": "GET"})
    except ConnectorError as exc:
        return False, str(exc)
    except Exception as exc:  # token endpoint down, bad key: report, never raise from a button
        return False, f"{type(exc).__name__}: {exc}"
    return True, f"HTTP {result['statusCode']}"
