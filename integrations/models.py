"""API clients (OAuth2 client credentials acting as a service user) and idempotency records."""

from django.conf import settings
from django.db import models


class ApiClient(models.Model):
    """What an OAuth2 application may do: its granted scopes, and whether it is still allowed in.

    The application's ``user`` is the service user the client acts as: its groups and object
    permissions (django-guardian) filter every object the client sees.
    """

    application = models.OneToOneField(
        "oauth2_provider.Application", related_name="api_client", on_delete=models.CASCADE
    )
    scopes = models.CharField(max_length=500, help_text="Space-separated scopes, e.g. 'read instances:start'")
    active = models.BooleanField(default=True, help_text="Untick to revoke: its tokens stop working at once")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, related_name="+", on_delete=models.SET_NULL
    )

    def __str__(self) -> str:
        return self.application.name

    @property
    def scope_list(self) -> list[str]:
        return self.scopes.split()


class IdempotencyRecord(models.Model):
    """One Idempotency-Key of one caller: the request's fingerprint and, once done, the response."""

    principal = models.CharField(max_length=100, help_text="Who sent it: user:<id> or client:<id>")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of method, path and body")
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["principal", "key"], name="idempotency_principal_key")]
        indexes = [models.Index(fields=["created_at"], name="idempotency_created")]

    def __str__(self) -> str:
        return f"{self.principal} {self.key}"


class Heartbeat(models.Model):
    """When a background component (the job tick, a worker) last ran: health reads it."""

    name = models.CharField(max_length=100, primary_key=True)
    seen_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} at {self.seen_at:%Y-%m-%d %H:%M:%S}"
