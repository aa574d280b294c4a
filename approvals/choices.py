"""The closed vocabularies of this app (model field choices)."""

from django.db import models


class Outcome(models.TextChoices):
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    CHANGES_REQUESTED = "changes_requested", "Changes requested"


# What the approver does, for messages ("A comment is required to reject.")
OUTCOME_VERBS = {Outcome.APPROVED: "approve", Outcome.REJECTED: "reject", Outcome.CHANGES_REQUESTED: "request changes"}
