"""Outbox figures for /metrics (registered with integrations.health)."""

from __future__ import annotations

from django.db.models import Count

from .models import Delivery


def metrics_figures(now) -> dict:
    deliveries = dict(Delivery.objects.values_list("status").annotate(n=Count("id")).order_by())
    failures = Delivery.objects.filter(attempts__gt=0).exclude(status="delivered").count()
    return {"deliveries_by_status": deliveries, "delivery_failures": failures}
