"""The closed vocabularies of this app (model field choices)."""

from django.db import models


class AlertMetric(models.TextChoices):
    FAILURE_RATE = "failure_rate", "Failure rate (failed / started, 0 to 1)"
    OVERDUE_TASKS = "overdue_tasks", "Overdue tasks (open, past due)"
    OPEN_INCIDENTS = "open_incidents", "Open incidents"
    P95_CYCLE_TIME = "p95_cycle_time", "p95 cycle time (seconds)"
