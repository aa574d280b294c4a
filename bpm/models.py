"""The one row every process reads to know whether its cached configuration is still current."""

from __future__ import annotations

from django.db import models


class ConfigVersion(models.Model):
    """A token that changes (at random, so a database reset or a rolled-back change cannot bring
    back an old one) whenever configuration that commands read on every step changes: webhook
    subscriptions, process settings, process followers. See bpm/config.py."""

    token = models.BigIntegerField()

    class Meta:
        db_table = "bpm_configversion"

    def __str__(self) -> str:
        return f"configuration token {self.token}"
