"""Take due rows for one runner: SELECT ... FOR UPDATE SKIP LOCKED, then mark them with a token.

Shared by the job runner (processes.jobs) and the notification outbox (notifications.services),
so many workers share due work without taking the same row twice.
"""

from __future__ import annotations

import uuid

from django.db import connection, transaction
from django.db.models import QuerySet


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
