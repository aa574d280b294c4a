"""Health checks (database, broker, background work) and the Prometheus figures."""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.db.models import Count, Min, Q
from django.utils import timezone

from .models import Heartbeat

TICK = "job-tick"


def heartbeat(name: str = TICK) -> None:
    """Record that a background component ran just now."""
    Heartbeat.objects.update_or_create(name=name, defaults={"seen_at": timezone.now()})


def _database() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return {"status": "ok"}
    except Exception as exc:  # noqa: BLE001 - any failure is the answer
        return {"status": "down", "error": str(exc)[:200]}


def _broker() -> dict:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return {"status": "ok", "mode": "in-process"}
    from kombu import Connection

    try:
        with Connection(settings.CELERY_BROKER_URL, connect_timeout=2) as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return {"status": "ok"}
    except Exception as exc:  # noqa: BLE001
        return {"status": "down", "error": str(exc)[:200]}


def _background() -> dict:
    """The job tick runs every BPM_TICK_SECONDS on a worker: a stale beat means no worker or no beat."""
    seen = Heartbeat.objects.filter(name=TICK).values_list("seen_at", flat=True).first()
    if seen is None:
        return {"status": "down", "error": "No worker has run the job tick yet"}
    age = (timezone.now() - seen).total_seconds()
    limit = max(30.0, 10 * settings.BPM["TICK_SECONDS"])
    status = "ok" if age <= limit else "down"
    return {"status": status, "last_tick_seconds_ago": round(age, 1)}


def health() -> tuple[bool, dict]:
    checks = {"database": _database(), "broker": _broker(), "worker": _background()}
    down = [name for name, check in checks.items() if check["status"] != "ok"]
    return not down, {"status": "degraded" if down else "ok", "down": down, "checks": checks}


def figures() -> dict:
    """Every figure /metrics exposes, from a handful of aggregate queries."""
    from notifications.models import Delivery
    from processes.models import Incident, Job, ProcessInstance
    from tasks.models import HumanTask

    now = timezone.now()
    by_status = dict(ProcessInstance.objects.values_list("status").annotate(n=Count("id")).order_by())
    tasks = HumanTask.objects.filter(status="open").aggregate(
        open=Count("id"), overdue=Count("id", filter=Q(due_at__lt=now))
    )
    jobs = Job.objects.filter(status="pending").aggregate(
        pending=Count("id"), oldest_due=Min("due_at", filter=Q(due_at__lte=now))
    )
    deliveries = dict(Delivery.objects.values_list("status").annotate(n=Count("id")).order_by())
    failures = Delivery.objects.filter(attempts__gt=0).exclude(status="delivered").count()
    lag = (now - jobs["oldest_due"]).total_seconds() if jobs["oldest_due"] else 0.0
    return {
        "instances_by_status": by_status,
        "instances_started": sum(by_status.values()),
        "tasks_open": tasks["open"],
        "tasks_overdue": tasks["overdue"],
        "jobs_pending": jobs["pending"],
        "job_lag_seconds": max(lag, 0.0),
        "incidents_open": Incident.objects.filter(resolved_at__isnull=True).count(),
        "deliveries_by_status": deliveries,
        "delivery_failures": failures,
    }
