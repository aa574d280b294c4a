"""The notifications outbox: events, their deliveries per channel, webhook subscriptions, in-app items."""

import uuid

from django.conf import settings
from django.db import models

from .choices import Channel, DeliveryStatus, WebhookFormat  # noqa: F401 - used by fields, imported from here elsewhere


class WebhookSubscription(models.Model):
    """An HTTP endpoint that receives events: signed JSON (Standard Webhooks), or a chat message."""

    name = models.CharField(max_length=100)
    format = models.CharField(max_length=16, choices=WebhookFormat.choices, default=WebhookFormat.STANDARD)
    url = models.URLField(max_length=500)
    event_types = models.JSONField(
        default=list, blank=True, help_text="Event names, e.g. workflow.task.assigned; empty: all"
    )
    process_key = models.CharField(max_length=255, blank=True, help_text="Only events of this process (empty: all)")
    secret_encrypted = models.TextField(editable=False)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def wants(self, event_type: str, process_key: str) -> bool:
        return (
            self.active
            and (not self.event_types or event_type in self.event_types)
            and (not self.process_key or self.process_key == process_key)
        )


class Delivery(models.Model):
    """One event to one channel target, written in the transaction of the change that caused it."""

    message_id = models.UUIDField(default=uuid.uuid4, unique=True, help_text="webhook-id: receivers deduplicate on it")
    event_type = models.CharField(max_length=100)
    payload = models.JSONField()
    channel = models.CharField(max_length=16, choices=Channel.choices)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE)
    subscription = models.ForeignKey(WebhookSubscription, null=True, blank=True, on_delete=models.CASCADE)
    status = models.CharField(max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    lock_token = models.CharField(max_length=64, blank=True)
    # While 'sending': the sender's lease. A sender that died (worker killed, database
    # restarted mid-send) lets it lapse, and the next sweep takes the delivery again.
    locked_until = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="delivery_status_next"),
            models.Index(fields=["status", "locked_until"], name="delivery_status_lease"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} via {self.channel} ({self.status})"


class InAppNotification(models.Model):
    """What the bell shows."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, related_name="notifications", on_delete=models.CASCADE)
    event_type = models.CharField(max_length=100)
    title = models.CharField(max_length=255)
    link = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "read_at"], name="inapp_user_unread")]

    def __str__(self) -> str:
        return self.title


class Preference(models.Model):
    """A person's choice of channels for one kind of event (absent: the defaults)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, related_name="notification_preferences", on_delete=models.CASCADE
    )
    event_type = models.CharField(max_length=100)
    email = models.BooleanField(default=True)
    in_app = models.BooleanField(default=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "event_type"], name="preference_unique_event")]

    def __str__(self) -> str:
        return f"{self.user} / {self.event_type}"


class ProcessSubscription(models.Model):
    """A person (typically a process owner) following a process's events in-app and by email."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, related_name="process_subscriptions", on_delete=models.CASCADE)
    process_key = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "process_key"], name="process_subscription_unique")]
        indexes = [models.Index(fields=["process_key"], name="process_subscription_key")]

    def __str__(self) -> str:
        return f"{self.user} follows {self.process_key}"
