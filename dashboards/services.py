"""Alert rules: create, delete, and evaluate them (beat runs ``alerts_evaluate``)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from notifications.services import event_emit

from . import selectors
from .models import AlertMetric, AlertRule


def alert_rule_create(*, user, process_key: str, metric: str, threshold: float, window_days: int = 7) -> AlertRule:
    errors: dict[str, list[str]] = {}
    if process_key not in selectors.owned_keys(user):
        errors["process_key"] = [f"You do not own a process '{process_key}'."]
    if metric not in AlertMetric.values:
        errors["metric"] = [f"One of: {', '.join(AlertMetric.values)}"]
    if threshold is None or threshold < 0:
        errors["threshold"] = ["A number of 0 or more."]
    if not 1 <= window_days <= 365:
        errors["window_days"] = ["From 1 to 365 days."]
    if errors:
        raise ValidationError(errors)
    return AlertRule.objects.create(
        process_key=process_key, metric=metric, threshold=threshold, window_days=window_days, owner=user
    )


def alert_rule_delete(*, user, rule_id: int) -> None:
    AlertRule.objects.filter(pk=rule_id, owner=user).delete()


def metric_value(rule: AlertRule, now=None) -> float | None:
    figures = selectors.process_figures(rule.process_key, selectors.Window.last(rule.window_days, now=now), now=now)
    if rule.metric == AlertMetric.FAILURE_RATE:
        return figures["failed"] / figures["started"] if figures["started"] else 0.0
    if rule.metric == AlertMetric.OVERDUE_TASKS:
        return float(figures["overdue_tasks"])
    if rule.metric == AlertMetric.OPEN_INCIDENTS:
        return float(figures["open_incidents"])
    return figures["cycle_p95_s"]


def alerts_evaluate(now=None) -> dict[str, int]:
    """Check every active rule; notify once when it passes its threshold and once when it clears."""
    now = now or timezone.now()
    outcome = {"raised": 0, "cleared": 0, "checked": 0}
    for rule_id in AlertRule.objects.filter(active=True).values_list("id", flat=True):
        with transaction.atomic():
            rule = AlertRule.objects.select_for_update(skip_locked=True).filter(pk=rule_id).first()
            if rule is None:
                continue  # another worker has it
            value = metric_value(rule, now=now)
            above = value is not None and value > rule.threshold
            outcome["checked"] += 1
            if above != rule.breached:
                kind = "raised" if above else "cleared"
                label = AlertMetric(rule.metric).label.split(" (")[0]
                title = (
                    f"Alert: {label} of {rule.process_key} is {value:g} (threshold {rule.threshold:g})"
                    if above
                    else f"Cleared: {label} of {rule.process_key} is back to {value if value is not None else 0:g}"
                )
                event_emit(
                    event_type=f"workflow.alert.{kind}",
                    payload={
                        "rule_id": rule.pk,
                        "process_key": rule.process_key,
                        "metric": rule.metric,
                        "value": value,
                        "threshold": rule.threshold,
                        "window_days": rule.window_days,
                        "title": title,
                        "link": f"/dashboards/processes/{rule.process_key}/",
                    },
                    process_key=rule.process_key,
                    users=[rule.owner],
                    title=title,
                    link=f"/dashboards/processes/{rule.process_key}/",
                )
                outcome[kind] += 1
            rule.breached, rule.last_value, rule.last_evaluated_at = above, value, now
            rule.save(update_fields=["breached", "last_value", "last_evaluated_at"])
    return outcome
