"""Dashboard pages over a large history: 100,000 instances and 1,000,000 history events.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bpm_bench_dash python bench/dashboards.py

Generates the data once with SQL (10 processes; instances spread over 60 days, most
completed, some running, failed or cancelled; 10 history events and one human task per
instance), then measures the server time of the overview page and of one process's page
(figures, versions, steps, heat overlay with average durations) through the Django test client, as an administrator who
sees all 10 processes, and prints one JSON line each with the median and the slowest of
5 runs in ms.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bpm.settings")
os.environ.setdefault("SECRET_KEY", "bench")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bpm_bench_dash")
os.environ.setdefault("ALLOWED_HOSTS", "testserver")

INSTANCES = 100_000
EVENTS_PER_INSTANCE = 10
PROCESSES = 10


def generate() -> None:
    from django.core.management import call_command
    from django.db import connection

    from processes import services
    from processes.models import ProcessDefinition, ProcessInstance

    call_command("migrate", verbosity=0)
    if ProcessInstance.objects.count() >= INSTANCES:
        return
    xml = (REPO / "examples" / "erp" / "purchase_order.bpmn").read_bytes()
    for i in range(PROCESSES):
        services.definition_deploy(files=[(f"dash_{i}.bpmn", xml.replace(b"purchase_order", f"dash_{i}".encode()))])
    ids = list(ProcessDefinition.objects.filter(key__startswith="dash_").order_by("key").values_list("id", flat=True))
    with connection.cursor() as cur:
        cur.execute(
            f"""
            INSERT INTO processes_processinstance
              (definition_id, process_key, business_key, status, state, variables, error_message,
               error_element_id, started_at, ended_at, updated_at)
            SELECT (ARRAY{ids})[1 + n % {PROCESSES}], 'dash_' || (n % {PROCESSES}), 'B-' || n,
                   CASE WHEN n % 20 = 0 THEN 'running' WHEN n % 50 = 1 THEN 'error'
                        WHEN n % 50 = 2 THEN 'cancelled' ELSE 'completed' END,
                   '{{}}', '{{}}', '', '',
                   now() - (n % 60) * interval '1 day' - (n % 1440) * interval '1 minute',
                   CASE WHEN n % 20 = 0 OR n % 50 IN (1, 2) THEN NULL
                        ELSE now() - (n % 60) * interval '1 day' + (n % 97) * interval '1 hour' END,
                   now()
            FROM generate_series(1, {INSTANCES}) AS n
            """
        )
        cur.execute(
            f"""
            INSERT INTO processes_historyevent
              (instance_id, definition_id, kind, element_id, element_type, element_name, data, created_at)
            SELECT i.id, i.definition_id,
                   CASE WHEN k % 2 = 0 THEN 'step_completed' ELSE 'step_entered' END,
                   (ARRAY['order_placed', 'goods_received', 'book_receipt', 'order_closed', 'order_placed'])[1 + k / 2],
                   '', '',
                   CASE WHEN k % 2 = 0 THEN ('{{"duration_s": ' || (k * 600 + i.id % 3600) || '}}')::jsonb
                        ELSE '{{}}' END,
                   i.started_at + k * interval '1 hour'
            FROM processes_processinstance i CROSS JOIN generate_series(0, {EVENTS_PER_INSTANCE - 1}) AS k
            WHERE i.process_key LIKE 'dash_%'
            """
        )
        cur.execute(
            """
            INSERT INTO tasks_humantask
              (instance_id, definition_id, process_key, business_key, spiff_task_id, element_id, kind, name,
               instructions, form, draft_data, status, is_approval, approval_chain, delegation_state, priority, due_at,
               created_at, claimed_at, completed_at, sla_breached, escalation_level)
            SELECT i.id, i.definition_id, i.process_key, i.business_key, md5(i.id::text)::uuid, 'book_receipt',
                   'user', 'Book goods receipt', '', '[]', '{}',
                   CASE WHEN i.status = 'completed' THEN 'completed' WHEN i.status = 'running' THEN 'open'
                        ELSE 'cancelled' END,
                   false, '', '', 50, i.started_at + interval '2 days', i.started_at,
                   i.started_at + (i.id % 7) * interval '1 hour', i.ended_at, i.id % 9 = 0, 0
            FROM processes_processinstance i WHERE i.process_key LIKE 'dash_%'
            """
        )
        cur.execute("ANALYZE")


def timed(client, url: str, runs: int = 5) -> dict:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(url)
        samples.append(time.perf_counter() - started)
        assert response.status_code == 200, response.status_code
    return {"median_ms": round(statistics.median(samples) * 1000, 1), "max_ms": round(max(samples) * 1000, 1)}


def main() -> None:
    import django

    django.setup()
    generate()
    from django.contrib.auth import get_user_model
    from django.test import Client

    from processes.models import HistoryEvent, ProcessInstance

    admin, _ = get_user_model().objects.get_or_create(username="bench-admin", defaults={"is_superuser": True})
    client = Client()
    client.force_login(admin)
    today = time.strftime("%Y-%m-%d")
    fortnight_ago = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 15 * 86400))
    yesterday = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 86400))
    assert fortnight_ago < yesterday < today
    sizes = {"instances": ProcessInstance.objects.count(), "history_events": HistoryEvent.objects.count()}
    for name, url in [
        ("overview page (10 processes, 30 days)", "/dashboards/?days=30"),
        ("process page (figures, steps, heat overlay, 30 days)", "/dashboards/processes/dash_0/?days=30"),
        ("process page, 365 days", "/dashboards/processes/dash_0/?days=365"),
        ("process page, a 14-day range", f"/dashboards/processes/dash_0/?since={fortnight_ago}&until={yesterday}"),
        ("workload page", "/dashboards/workload/?days=30"),
    ]:
        print(json.dumps({"page": name, **sizes, **timed(client, url)}))


if __name__ == "__main__":
    main()
