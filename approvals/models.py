"""Approval decisions (append-only) and out-of-office substitutes."""

from django.conf import settings
from django.db import models

from processes.models import ProcessInstance
from tasks.models import HumanTask

from .choices import Outcome  # noqa: F401 - used by fields, imported from here elsewhere


class Approval(models.Model):
    """One decision on an approval task: never edited or deleted once written."""

    # An audit record: it may outlive its instance (BPM_APPROVAL_RETENTION_DAYS), keeping what it was about.
    instance = models.ForeignKey(
        ProcessInstance, null=True, blank=True, related_name="approvals", on_delete=models.SET_NULL
    )
    task = models.OneToOneField(HumanTask, null=True, blank=True, related_name="approval", on_delete=models.SET_NULL)
    instance_ref = models.PositiveIntegerField(null=True, blank=True)  # the instance's id, kept after it is removed
    process_key = models.CharField(max_length=255, blank=True, default="")
    business_key = models.CharField(max_length=255, blank=True, default="")
    element_id = models.CharField(max_length=255)
    chain = models.CharField(max_length=255, blank=True)
    level = models.PositiveIntegerField(default=1)
    level_name = models.CharField(max_length=255, blank=True)
    outcome = models.CharField(max_length=32, choices=Outcome.choices)
    comment = models.TextField(blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, related_name="+", on_delete=models.PROTECT)
    # Set when the decider acted for someone else (a delegation or an out-of-office substitute).
    on_behalf_of = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, related_name="+", on_delete=models.PROTECT
    )
    decided_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["decided_at", "id"]
        indexes = [
            models.Index(fields=["instance", "chain", "decided_by"], name="approval_instance_chain_user"),
            models.Index(fields=["decided_by", "decided_at"], name="approval_decider_time"),
        ]

    def __str__(self) -> str:
        return f"{self.get_outcome_display()} by {self.decided_by} ({self.element_id})"

    def save(self, *args, **kwargs):
        # Decisions are evidence: written once, never changed.
        if self.pk is not None:
            raise ValueError("Approval decisions cannot be changed once recorded")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("Approval decisions cannot be deleted")


class Substitute(models.Model):
    """While ``user`` is away (from ``starts_on`` to ``ends_on``), approvals assigned to them go to ``substitute``."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, related_name="substitutes", on_delete=models.CASCADE)
    substitute = models.ForeignKey(settings.AUTH_USER_MODEL, related_name="substituting_for", on_delete=models.CASCADE)
    starts_on = models.DateField()
    ends_on = models.DateField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["starts_on"]
        indexes = [models.Index(fields=["user", "starts_on", "ends_on"], name="substitute_user_range")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_on__gte=models.F("starts_on")), name="substitute_range_order"
            )
        ]

    def __str__(self) -> str:
        return f"{self.substitute} for {self.user} ({self.starts_on} to {self.ends_on})"
