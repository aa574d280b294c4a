from celery import shared_task

from . import services


@shared_task(name="notifications.deliver_pending", ignore_result=True)
def deliver_pending() -> dict:
    """Send due deliveries: queued after each commit, and run by beat as a sweep."""
    return services.deliver_due()
