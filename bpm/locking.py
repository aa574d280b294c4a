"""Take due rows for one runner: SELECT ... FOR UPDATE SKIP LOCKED, then mark them with a token.

Shared by the job runner (processes.jobs) and the notification outbox (notifications.services),
so many workers share due work without taking the same row twice.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import uuid

from django.db import connection, transaction
from django.db.models import QuerySet

logger = logging.getLogger(__name__)


def acquire(due: QuerySet, limit: int, **mark) -> tuple[str, list[int]]:
    """Lock up to ``limit`` rows of ``due`` (ordered), update them with ``mark`` and a fresh
    ``lock_token``; returns (token, ids). SQLite (the demo) has no SKIP LOCKED and one runner."""
    token = uuid.uuid4().hex
    with transaction.atomic():
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True)
        ids = list(due.values_list("id", flat=True)[:limit])
        if ids:
            due.model.objects.filter(id__in=ids).update(lock_token=token, **mark)
    return token, ids


@contextlib.contextmanager
def heartbeat(model, token: str, lease_seconds: float, ids: list[int] | None = None):
    """While the block runs, keep extending the lease (``locked_until``) of the rows this runner
    took (``lock_token``), so leases can be short: a runner that dies stops beating and its
    rows are taken again within ``lease_seconds``, while a slow one keeps them.

    The beat runs in a thread with its own connection and skips rows another transaction
    holds (SKIP LOCKED), so it never waits on the runner's own transaction. SQLite (the demo,
    one runner) has no concurrent writers: there the lease alone applies. ``ids`` narrows the
    beat to some of the token's rows (a batch whose rows went to several workers)."""
    if not connection.features.has_select_for_update_skip_locked or lease_seconds <= 0:
        yield
        return
    stop = threading.Event()
    table = model._meta.db_table
    only = " AND id = ANY(%s)" if ids else ""
    sql = (
        f"UPDATE {table} SET locked_until = now() + make_interval(secs => %s) "  # noqa: S608 - our table name
        f"WHERE id IN (SELECT id FROM {table} WHERE lock_token = %s{only} FOR UPDATE SKIP LOCKED)"
    )
    params = [float(lease_seconds), token, *([list(ids)] if ids else [])]

    def beat() -> None:
        from django.db import connections

        try:
            while not stop.wait(max(0.2, lease_seconds / 3)):
                with connections["default"].cursor() as cursor:
                    cursor.execute(sql, params)
        except Exception:  # noqa: BLE001 - a missed beat only shortens the lease
            logger.warning("Lease heartbeat for %s stopped", table, exc_info=True)
        finally:
            connections["default"].close()

    thread = threading.Thread(target=beat, name=f"lease-{table}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)
