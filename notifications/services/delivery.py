"""Delivering the outbox after commit: take due rows under a lease, send each through its channel,
retry with backoff, bury dead letters, replay them."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from bpm import locking

from ..models import (
    Channel,
    Delivery,
    DeliveryStatus,
)
from .channels import _Gone, _RetryLater
from .channels.email import _send_email
from .channels.webhook import _post_webhook

logger = logging.getLogger(__name__)


MAX_ATTEMPTS = 6  # when BPM_DELIVERY_MAX_ATTEMPTS is not set
_nudge_paused_until = 0.0


def _send_after_commit(ids: list[int]) -> None:
    global _nudge_paused_until
    from ..tasks import deliver_pending

    if time.monotonic() < _nudge_paused_until:
        return
    try:
        deliver_pending.apply_async(retry=False)
    except Exception:  # the broker is down: the periodic sweep delivers them later
        _nudge_paused_until = time.monotonic() + settings.BPM["NUDGE_PAUSE_SECONDS"]
        logger.warning(
            "Could not queue %s deliveries; the sweep will send them (no new attempt for %s s)",
            len(ids),
            settings.BPM["NUDGE_PAUSE_SECONDS"],
        )


def dead_letters_replay_all() -> int:
    """Send every dead letter again; how many were queued."""
    count = Delivery.objects.filter(status=DeliveryStatus.DEAD).update(
        status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=timezone.now(), lock_token="", locked_until=None
    )
    if count:
        transaction.on_commit(lambda: _send_after_commit([]))
    return count


def deliveries_acquire(limit: int = 100, now=None, skip: Iterable[int] = ()) -> tuple[str, list[int]]:
    """Take due deliveries, and those whose sender's lease lapsed, for one sender.

    Taking one counts an attempt, so a delivery whose sender dies every time (a receiver that
    hangs the worker, say) ends as a dead letter instead of being tried for ever."""
    now = now or timezone.now()
    _bury_lapsed(now)
    due = Delivery.objects.filter(
        Q(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
        | Q(status=DeliveryStatus.SENDING, locked_until__lt=now)
    ).order_by("next_attempt_at", "id")
    if skip:
        due = due.exclude(pk__in=list(skip))
    return locking.acquire(
        due,
        limit,
        status=DeliveryStatus.SENDING,
        locked_until=now + timedelta(seconds=settings.BPM["DELIVERY_LEASE_SECONDS"]),
        attempts=F("attempts") + 1,
    )


def _bury_lapsed(now) -> None:
    """A lapsed lease on the last allowed attempt: a dead letter (visible, replayable), not lost."""
    Delivery.objects.filter(
        status=DeliveryStatus.SENDING,
        locked_until__lt=now,
        attempts__gte=settings.BPM.get("DELIVERY_MAX_ATTEMPTS", MAX_ATTEMPTS),
    ).update(
        status=DeliveryStatus.DEAD,
        lock_token="",
        locked_until=None,
        last_error="Its sender stopped while sending (worker or database gone) on the last attempt",
    )


def delivery_execute(*, delivery_id: int, token: str) -> str:
    """Send one taken delivery; 'delivered', 'retry', 'dead' or 'skipped' (not ours any more).

    Every outcome is written only while the delivery is still ours (its token): a sender
    whose lease lapsed and was taken over does not overwrite the new sender's state."""
    delivery = Delivery.objects.select_related("subscription", "user").filter(pk=delivery_id, lock_token=token).first()
    if delivery is None or delivery.status != DeliveryStatus.SENDING:
        return "skipped"
    attempts = delivery.attempts  # counted when it was taken
    ours = Delivery.objects.filter(pk=delivery_id, lock_token=token)
    done = {"lock_token": "", "locked_until": None}
    try:
        if delivery.channel == Channel.WEBHOOK:
            _post_webhook(delivery)
        elif delivery.channel == Channel.EMAIL:
            _send_email(delivery)
    except _Gone as exc:
        ours.update(status=DeliveryStatus.DEAD, last_error=str(exc)[:2000], **done)
        return "dead"
    except _RetryLater as exc:
        if attempts >= settings.BPM.get("DELIVERY_MAX_ATTEMPTS", MAX_ATTEMPTS):
            ours.update(status=DeliveryStatus.DEAD, last_error=str(exc)[:2000], **done)
            return "dead"
        base = settings.BPM["DELIVERY_RETRY_BASE_SECONDS"] * (2 ** (attempts - 1))
        delay = exc.after if exc.after is not None else base * random.uniform(0.5, 1.0)  # noqa: S311 - jitter
        ours.update(
            status=DeliveryStatus.PENDING,
            next_attempt_at=timezone.now() + timedelta(seconds=delay),
            last_error=str(exc)[:2000],
            **done,
        )
        return "retry"
    ours.update(status=DeliveryStatus.DELIVERED, delivered_at=timezone.now(), **done)
    return "delivered"


def deliver_due(now=None, budget_seconds: float = 20.0) -> dict[str, int]:
    """Send every due delivery, batch after batch, for up to ``budget_seconds`` (the sweep;
    also the demo's runner). Several workers may run it at once: rows are taken with
    SKIP LOCKED, so none is sent twice."""
    started = time.monotonic()
    outcomes: dict[str, int] = {}
    retried: set[int] = set()  # one attempt per sweep: their next try is a later sweep
    while True:
        token, ids = deliveries_acquire(now=now, skip=retried)
        # The batch's leases are renewed while this sender works through it.
        with locking.heartbeat(Delivery, token, settings.BPM["DELIVERY_LEASE_SECONDS"] if ids else 0):
            for delivery_id in ids:
                outcome = delivery_execute(delivery_id=delivery_id, token=token)
                outcomes[outcome] = outcomes.get(outcome, 0) + 1
                if outcome == "retry":
                    retried.add(delivery_id)
        if not ids or time.monotonic() - started > budget_seconds:
            return outcomes


def delivery_replay(*, delivery_id: int) -> Delivery:
    """Send a dead letter again (after the receiver was fixed)."""
    updated = Delivery.objects.filter(pk=delivery_id, status=DeliveryStatus.DEAD).update(
        status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=timezone.now(), lock_token="", locked_until=None
    )
    if not updated:
        from bpm.exceptions import Conflict

        raise Conflict(f"Delivery {delivery_id} is not a dead letter")
    transaction.on_commit(lambda: _send_after_commit([delivery_id]))
    return Delivery.objects.get(pk=delivery_id)
