from celery import shared_task

from . import services


@shared_task(name="dashboards.evaluate_alerts", ignore_result=True)
def evaluate_alerts() -> dict:
    """Beat runs it every BPM_ALERT_SECONDS."""
    return services.alerts_evaluate()
