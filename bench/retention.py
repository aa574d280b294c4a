"""History retention: how fast the clean-up removes 1,000,000 history rows, and what a start
and complete of another process cost while it runs.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bpm_bench_retention python bench/retention.py \\
        [--instances 50000] [--events 20] [--batch 500]

Generates with SQL ended instances of a process with a 30-day camunda:historyTimeToLive, all
ended 40 days ago, each with ``--events`` history events and one completed human task (50,000
x 20 = 1,000,000 history rows), then runs ``history_cleanup`` in one thread while this thread
starts and completes instances of another process through the services (the engine path of
an API request) and times each pair. Prints JSON lines: the clean-up (instances, rows, rows/s)
and the pairs' p50/p95 before and during it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bpm.settings")
os.environ.setdefault("SECRET_KEY", "bench")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bpm_bench_retention")

EXPIRING = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="t">
  <bpmn:process id="expiring" isExecutable="true" camunda:historyTimeToLive="30">
    <bpmn:startEvent id="s"/><bpmn:userTask id="review"/><bpmn:endEvent id="e"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="review"/><bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>"""
LIVE = EXPIRING.replace(b"expiring", b"live").replace(b' camunda:historyTimeToLive="30"', b"")


def generate(instances: int, events: int) -> None:
    from django.core.management import call_command
    from django.db import connection

    from processes import services
    from processes.models import ProcessDefinition

    call_command("migrate", verbosity=0)
    services.definition_deploy(files=[("expiring.bpmn", EXPIRING)])
    services.definition_deploy(files=[("live.bpmn", LIVE)])
    definition = ProcessDefinition.objects.get(key="expiring", is_active=True)
    with connection.cursor() as cur:
        cur.execute("DELETE FROM processes_processinstance WHERE process_key = 'expiring'")
        cur.execute(
            f"""
            INSERT INTO processes_processinstance
              (definition_id, process_key, business_key, status, state, variables, error_message,
               error_element_id, started_at, ended_at, updated_at)
            SELECT {definition.pk}, 'expiring', 'R-' || n, 'completed', '{{}}', '{{"amount": 1}}', '', '',
                   now() - interval '41 days', now() - interval '40 days', now()
            FROM generate_series(1, {instances}) AS n
            """
        )
        cur.execute(
            f"""
            INSERT INTO processes_historyevent
              (instance_id, definition_id, kind, element_id, element_type, element_name, data, created_at)
            SELECT i.id, i.definition_id, 'step_completed', 'review', 'UserTask', '', '{{}}',
                   i.started_at + k * interval '1 minute'
            FROM processes_processinstance i CROSS JOIN generate_series(1, {events}) AS k
            WHERE i.process_key = 'expiring'
            """
        )
        cur.execute(
            """
            INSERT INTO tasks_humantask
              (instance_id, definition_id, process_key, business_key, spiff_task_id, element_id, kind, name,
               instructions, form, draft_data, status, is_approval, approval_chain, delegation_state, priority,
               created_at, completed_at, sla_breached, escalation_level)
            SELECT i.id, i.definition_id, i.process_key, i.business_key, md5(i.id::text)::uuid, 'review', 'user',
                   'Review', '', '[]', '{}', 'completed', false, '', '', 50, i.started_at, i.ended_at, false, 0
            FROM processes_processinstance i WHERE i.process_key = 'expiring'
            """
        )
        cur.execute("ANALYZE")


def pairs(seconds: float) -> list[float]:
    """Start an instance of the live process and complete its task, for ``seconds``; ms each."""
    from processes import services
    from processes.models import ProcessInstance

    timings = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        began = time.perf_counter()
        instance = services.instance_start(key="live")
        step = instance.waiting_steps.get()
        services.instance_complete_step(instance_id=instance.pk, spiff_task_id=str(step.spiff_task_id))
        timings.append((time.perf_counter() - began) * 1000)
    ProcessInstance.objects.filter(process_key="live").delete()
    return timings


def _figures(values: list[float]) -> dict:
    ordered = sorted(values)
    return {
        "pairs": len(ordered),
        "p50_ms": round(statistics.median(ordered), 1) if ordered else None,
        "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))], 1) if ordered else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--instances", type=int, default=50_000)
    parser.add_argument("--events", type=int, default=20)
    parser.add_argument("--batch", type=int, default=500)
    args = parser.parse_args()
    import django

    django.setup()
    from django.db import connection

    from processes.models import HistoryEvent
    from processes.services import retention

    generate(args.instances, args.events)
    history_rows = HistoryEvent.objects.filter(instance__process_key="expiring").count()
    print(json.dumps({"measure": "pairs before", **_figures(pairs(10))}))
    outcome = {}

    def clean() -> None:
        began = time.perf_counter()
        result = retention.history_cleanup(batch_size=args.batch)
        outcome["seconds"] = time.perf_counter() - began
        outcome["result"] = result
        connection.close()

    cleaner = threading.Thread(target=clean)
    cleaner.start()
    during = []
    while cleaner.is_alive():
        during += pairs(2)
    cleaner.join()
    result, seconds = outcome["result"], outcome["seconds"]
    print(
        json.dumps(
            {
                "measure": "clean-up",
                "batch": args.batch,
                "instances": result.instances,
                "history_rows": history_rows,
                "rows_removed": result.total_rows,
                "seconds": round(seconds, 1),
                "rows_per_s": round(result.total_rows / seconds),
                "history_rows_per_s": round(history_rows / seconds),
            }
        )
    )
    print(json.dumps({"measure": "pairs during the clean-up", **_figures(during)}))


if __name__ == "__main__":
    main()
