"""Connectors for service tasks: the built-in HTTP connector and project connectors from settings.

A connector is a callable taking the evaluated input parameters (a dict) and returning a
dict of result values (for HTTP: ``response``, ``statusCode``, ``headers``). It runs in the
job runner, outside any instance lock or transaction.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.utils.module_loading import import_string

from bpm import netguard

from .engine import expressions, scripting

MAX_RESPONSE_BYTES = 1024 * 1024


class ConnectorError(Exception):
    """A connector call failed; the job runner retries it with backoff, then raises an incident.

    ``status`` is the HTTP status when there was one: a diagram may map it to a BPMN error."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


class CircuitBreaker:
    """Per target host, in each worker process: after BREAKER_FAILURES failures in a row the
    host is not called for BREAKER_SECONDS (calls fail at once and retry later); then one call
    may try again."""

    def __init__(self):
        self._lock = threading.Lock()
        self._hosts: dict[str, tuple[int, float]] = {}

    def check(self, host: str) -> None:
        with self._lock:
            failures, open_until = self._hosts.get(host, (0, 0.0))
        if open_until and time.monotonic() < open_until:
            raise ConnectorError(f"Not calling {host}: it failed {failures} times in a row (circuit open)")

    def record(self, host: str, ok: bool) -> None:
        with self._lock:
            if ok:
                self._hosts.pop(host, None)
                return
            failures, _ = self._hosts.get(host, (0, 0.0))
            failures += 1
            open_until = 0.0
            if failures >= settings.BPM["BREAKER_FAILURES"]:
                open_until = time.monotonic() + settings.BPM["BREAKER_SECONDS"]
            self._hosts[host] = (failures, open_until)

    def reset(self) -> None:
        with self._lock:
            self._hosts.clear()


BREAKER = CircuitBreaker()


def _origin(url: str) -> tuple[str, str, int]:
    parts = urllib.parse.urlsplit(url)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        port = -1
    return parts.scheme, (parts.hostname or "").lower(), port


def http_connector(inputs: dict[str, Any]) -> dict[str, Any]:
    """Camunda Connect's http-connector: url, method, headers, payload -> response, statusCode, headers.

    The URL passes the address guard (bpm.netguard: no loopback, private, link-local or
    metadata address unless BPM_SERVICE_ALLOWED_NETWORKS lets it through; no redirects), and
    a Connection's credentials go only to the Connection's own scheme, host and port."""
    url = str(inputs.get("url") or "")
    headers = {str(k): str(v) for k, v in (inputs.get("headers") or {}).items()}
    credentials: dict[str, str] = {}
    if inputs.get("connection"):
        from .connections import auth_headers, resolve_url
        from .models import Connection

        connection = Connection.objects.filter(name=inputs["connection"]).first()
        if connection is None:
            raise ConnectorError(f"No connection named '{inputs['connection']}'")
        url = resolve_url(connection, url)
        if _origin(url) != _origin(connection.base_url):
            raise ConnectorError(
                f"The connection '{connection.name}' sends its credentials only to {connection.base_url}, "
                f"not to {url}: use a path relative to it"
            )
        credentials = auth_headers(connection, settings.BPM["HTTP_TIMEOUT_SECONDS"])
    if not url.startswith(("http://", "https://")):
        raise ConnectorError(f"The http-connector needs an http(s) url, got '{url}'")
    try:
        target = netguard.resolve_safely(
            url, settings.BPM.get("SERVICE_ALLOWED_NETWORKS", []), setting="BPM_SERVICE_ALLOWED_NETWORKS"
        )
    except netguard.UnsafeAddress as exc:
        raise ConnectorError(f"Refused to call {url}: {exc}") from exc
    headers.update(credentials)  # after the diagram's headers: a diagram cannot replace them
    method = str(inputs.get("method") or "GET").upper()
    payload = inputs.get("payload")
    body = None
    if payload not in (None, ""):
        if isinstance(payload, (dict, list)):
            body = json.dumps(payload).encode()
            headers.setdefault("Content-Type", "application/json")
        else:
            body = str(payload).encode()
    host = f"{target.host}:{target.port}"
    BREAKER.check(host)
    try:
        answer = netguard.request(
            target,
            method,
            headers=headers,
            body=body,
            timeout=settings.BPM["HTTP_TIMEOUT_SECONDS"],
            max_bytes=MAX_RESPONSE_BYTES,
        )
    except netguard.ResponseTooLarge as exc:
        BREAKER.record(host, ok=True)
        raise ConnectorError(f"The response from {url} is larger than {MAX_RESPONSE_BYTES:,} bytes") from exc
    except (TimeoutError, OSError) as exc:
        BREAKER.record(host, ok=False)
        raise ConnectorError(f"Could not reach {url}: {exc}") from exc
    if answer.status >= 400:
        BREAKER.record(host, ok=answer.status < 500)
        raise ConnectorError(f"HTTP {answer.status} from {url}", status=answer.status)
    BREAKER.record(host, ok=True)
    text = answer.body.decode("utf-8", errors="replace")
    try:
        parsed: Any = json.loads(text) if text else None
    except json.JSONDecodeError:
        parsed = text
    return {"response": parsed, "statusCode": answer.status, "headers": answer.headers}


def mail_send(inputs: dict[str, Any]) -> dict[str, Any]:
    """Camunda Connect's mail-send: to (comma list), subject, text (and optional from), through Django's mail backend."""
    from django.core.mail import send_mail

    recipients = inputs.get("to") or []
    if isinstance(recipients, str):
        recipients = [r.strip() for r in recipients.split(",") if r.strip()]
    if not recipients:
        raise ConnectorError("mail-send needs at least one recipient ('to')")
    sent = send_mail(
        subject=str(inputs.get("subject") or ""),
        message=str(inputs.get("text") or ""),
        from_email=inputs.get("from") or None,
        recipient_list=list(recipients),
    )
    return {"sent": sent}


def set_variables(inputs: dict[str, Any]) -> dict[str, Any]:
    """Write the (evaluated) input parameters as process variables."""
    return dict(inputs)


def _registry() -> dict[str, Callable[[dict], dict]]:
    connectors: dict[str, Callable[[dict], dict]] = {
        "http-connector": http_connector,
        "mail-send": mail_send,
        "set-variables": set_variables,
    }
    for name, path in settings.BPM.get("CONNECTORS", {}).items():
        connectors[name] = import_string(path)
    return connectors


def _evaluate(value: Any, variables: dict) -> Any:
    return expressions.evaluate_parameter(value, variables, scripting.evaluate)


def call(connector: dict, variables: dict) -> dict[str, Any]:
    """Evaluate the inputs over the variables, call the connector, map its outputs to variables.

    Without output parameters, the connector's whole result is returned under the task's
    result names (response, statusCode, headers for HTTP)."""
    registry = _registry()
    connector_id = connector.get("id") or "http-connector"
    if connector_id not in registry:
        raise ConnectorError(f"No connector named '{connector_id}' (settings BPM['CONNECTORS'])")
    try:
        inputs = _evaluate(connector.get("inputs") or {}, variables)
    except Exception as exc:
        raise ConnectorError(f"An input parameter could not be evaluated: {exc}") from exc
    result = registry[connector_id](inputs) or {}
    outputs = connector.get("outputs") or {}
    if not outputs:
        # SpiffArena operators put the whole result into one variable.
        return {connector["result_variable"]: result} if connector.get("result_variable") else result
    scope = {**variables, **result}
    try:
        return {name: _evaluate(expression, scope) for name, expression in outputs.items()}
    except Exception as exc:
        raise ConnectorError(f"An output parameter could not be evaluated: {exc}") from exc


def error_code_for(connector: dict, error: ConnectorError) -> str | None:
    """The BPMN error code a diagram maps this failure to (``error.<status>`` or ``error.any``)."""
    mapping = connector.get("errors") or {}
    if error.status is not None and str(error.status) in mapping:
        return mapping[str(error.status)]
    return mapping.get("any")
