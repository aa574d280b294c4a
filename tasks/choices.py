from django.db import models


class TaskStatus(models.TextChoices):
    OPEN = "open", "Open"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"


class DelegationState(models.TextChoices):
    NONE = "", "Not delegated"
    PENDING = "pending", "Delegated, waiting to be resolved"
    RESOLVED = "resolved", "Resolved by the delegate"
