"""Alert rules a process owner sets on a process's figures."""

from django.conf import settings
from django.db import models

from .choices import AlertMetric  # noqa: F401 - used by fields, imported from here elsewhere


class AlertRule(models.Model):
    """Notify the owner once when a figure passes its threshold, and again when it clears."""

    process_key = models.CharField(max_length=255)
    metric = models.CharField(max_length=32, choices=AlertMetric.choices)
    threshold = models.FloatField()
    window_days = models.PositiveIntegerField(default=7)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, related_name="alert_rules", on_delete=models.CASCADE)
    active = models.BooleanField(default=True)
    breached = models.BooleanField(default=False)
    last_value = models.FloatField(null=True, blank=True)
    last_evaluated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["process_key", "metric", "id"]

    def __str__(self) -> str:
        return f"{self.process_key}: {self.metric} > {self.threshold}"
