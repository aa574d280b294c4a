"""Notifications: emit events into the outbox in the caller's transaction, deliver them after commit.

The rooms: ``events`` (the catalogue, emitting, the per-object helpers), ``delivery`` (the
outbox: leases, sends, retries, dead letters), ``subscriptions`` (webhook subscriptions),
``channels/`` (email, signed webhooks, chat). Callers import this package.
"""

from .channels import _Gone, _RetryLater  # noqa: F401 - raised by channels, handled by delivery
from .channels.chat import slack_escape, teams_escape
from .channels.email import email_render
from .delivery import (
    MAX_ATTEMPTS,
    dead_letters_replay_all,
    deliver_due,
    deliveries_acquire,
    delivery_execute,
    delivery_replay,
)
from .events import (
    EVENTS,
    FOLLOWER_EVENTS,
    INSTANCE_TITLES,
    PERSONAL_EVENTS,
    TASK_TITLES,
    EventKind,
    batched_subscription_reads,
    channels_for,
    event_emit,
    instance_event,
    preferences_save,
    process_follow,
    steps_completed,
    task_event,
    tasks_opened,
)
from .subscriptions import (
    subscription_check,
    subscription_create,
    subscription_delete,
    subscription_rotate_secret,
    subscription_update,
)

__all__ = [
    "EVENTS",
    "FOLLOWER_EVENTS",
    "INSTANCE_TITLES",
    "MAX_ATTEMPTS",
    "PERSONAL_EVENTS",
    "TASK_TITLES",
    "EventKind",
    "batched_subscription_reads",
    "channels_for",
    "dead_letters_replay_all",
    "deliver_due",
    "deliveries_acquire",
    "delivery_execute",
    "delivery_replay",
    "email_render",
    "event_emit",
    "instance_event",
    "preferences_save",
    "process_follow",
    "slack_escape",
    "steps_completed",
    "subscription_check",
    "subscription_create",
    "subscription_delete",
    "subscription_rotate_secret",
    "subscription_update",
    "task_event",
    "tasks_opened",
    "teams_escape",
]
