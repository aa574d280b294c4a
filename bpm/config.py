"""Configuration read on every step (webhook subscriptions, process settings, followers), kept
in this process between commands and checked against one token read inside the command.

A command on an instance reads ``bpm_configversion`` in a statement it sends anyway (the row
lock on complete, the id of a new instance on start) and runs inside ``versioned(token)``. A
cached value is used only when it was loaded under that same token, so what a command sees is
never older than the configuration committed before it began, on every web node and worker
(no time-to-live, no shared cache). Whatever changes such configuration calls ``changed()`` in
its own transaction: the models an app registers with ``watch`` do so on save and delete.
Outside ``versioned`` (or without the row, e.g. on a database just emptied) nothing is cached.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

from django.db import connection
from django.db.models.signals import post_delete, post_save

T = TypeVar("T")

_token: ContextVar[int | None] = ContextVar("bpm_config_token", default=None)
_CACHE: dict[tuple[str, Any], tuple[int, Any]] = {}
TOKEN_SQL = "(SELECT token FROM bpm_configversion WHERE id = 1)"  # noqa: S105 - SQL, not a secret


@contextmanager
def versioned(token: int | None) -> Iterator[None]:
    """Cached configuration is good for this command when loaded under ``token``."""
    outer = _token.get()
    handle = _token.set(token if token is not None else outer)
    try:
        yield
    finally:
        _token.reset(handle)


def cached(name: str, key: Any, load: Callable[[], T]) -> T:
    """``load()``'s value, loaded at most once per configuration token in this process."""
    token = _token.get()
    if token is None:
        return load()
    hit = _CACHE.get((name, key))
    if hit is not None and hit[0] == token:
        return hit[1]
    value = load()  # loaded after the token was read: never older than it
    if len(_CACHE) > 4096:
        _CACHE.clear()
    _CACHE[(name, key)] = (token, value)
    return value


def read_token() -> int | None:
    """The token, in its own statement (commands read it inside one they send anyway)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {TOKEN_SQL}")
        return cursor.fetchone()[0]


def changed() -> None:
    """Configuration changed in the current transaction: every process reloads what it cached."""
    token = secrets.randbits(62)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE bpm_configversion SET token = %s WHERE id = 1", [token])
        if cursor.rowcount == 0:  # the row went with an emptied database
            cursor.execute("INSERT INTO bpm_configversion (id, token) VALUES (1, %s)", [token])


def _on_change(**kwargs: Any) -> None:
    changed()


def watch(model: type) -> None:
    """Saving or deleting a ``model`` row changes the configuration token (AppConfig.ready())."""
    uid = f"bpm-config-{model._meta.label_lower}"
    post_save.connect(_on_change, sender=model, dispatch_uid=f"{uid}-saved", weak=False)
    post_delete.connect(_on_change, sender=model, dispatch_uid=f"{uid}-deleted", weak=False)
