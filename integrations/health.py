"""Health checks (database, broker, background work) and the Prometheus figures."""

from __future__ import annotations

from django.conf import settings
from django.db import connection
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


# The figures /metrics exposes come from the apps that own them, registered in their
# AppConfig.ready() (this app sits below them and imports none of them).
_FIGURES: list = []
DEFAULT_FIGURES = {
    "instances_by_status": {},
    "instances_started": 0,
    "tasks_open": 0,
    "tasks_overdue": 0,
    "jobs_pending": 0,
    "job_lag_seconds": 0.0,
    "incidents_open": 0,
    "deliveries_by_status": {},
    "delivery_failures": 0,
}


def register_figures(provider) -> None:
    """``provider(now) -> dict`` of some of DEFAULT_FIGURES' keys, from a handful of aggregate queries."""
    if provider not in _FIGURES:
        _FIGURES.append(provider)


def figures() -> dict:
    """Every figure /metrics exposes."""
    now = timezone.now()
    merged = dict(DEFAULT_FIGURES)
    for provider in _FIGURES:
        merged.update(provider(now))
    return merged
