"""Migration as a batch: how fast 10,000 running instances move to a new version, and what the
web API's requests cost while it runs.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bpm_bench_migration python bench/migration.py \\
        [--instances 10000] [--chunk 50] [--clients 4] [--workers 2]

Starts ``--instances`` instances of version 1 (start -> review -> end; each waits at a human
task) through the services, deploys version 2 (review gains a boundary timer, a step follows),
then serves the API with gunicorn and measures start-and-complete pairs over HTTP from
``--clients`` closed-loop clients, first alone, then while one worker thread runs the batch
chunk by chunk (as a Celery worker does). Prints JSON lines: the batch (instances/s, failures)
and the requests' p50/p95 before and during it. Every instance is checked afterwards: it runs
version 2, keeps its task row and waits at review and its new timer.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bpm.settings")
os.environ.setdefault("SECRET_KEY", "bench")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bpm_bench_migration")
os.environ.setdefault("BPM_API_RATE", "1000000/min")

from api_http import Erp, free_port, gunicorn, prepare  # noqa: E402  (bench/ is not a package)

V1 = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="moving" isExecutable="true">
    <bpmn:startEvent id="s"/><bpmn:userTask id="review" name="Review"/><bpmn:endEvent id="e"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="review"/><bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>"""
V2 = V1.replace(
    b'<bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="e"/>',
    b'<bpmn:userTask id="ship"/><bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="ship"/>'
    b'<bpmn:sequenceFlow id="f3" sourceRef="ship" targetRef="e"/>'
    b'<bpmn:boundaryEvent id="late" attachedToRef="review"><bpmn:timerEventDefinition>'
    b"<bpmn:timeDuration>P3D</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent>"
    b'<bpmn:endEvent id="x"/><bpmn:sequenceFlow id="f4" sourceRef="late" targetRef="x"/>',
)


def generate(instances: int):
    from processes import services
    from processes.models import ProcessDefinition, ProcessInstance

    ProcessInstance.objects.filter(process_key="moving").delete()
    ProcessDefinition.objects.filter(key="moving").delete()
    v1 = services.definition_deploy(files=[("moving.bpmn", V1)]).created[0]
    began = time.perf_counter()
    for _ in range(instances):
        services.instance_start(definition=v1)
    print(
        json.dumps(
            {"measure": "instances started", "count": instances, "seconds": round(time.perf_counter() - began, 1)}
        )
    )
    v2 = services.definition_deploy(files=[("moving.bpmn", V2)]).created[0]
    return v1, v2


def measure(erp_port: int, token: str, clients: int, until) -> Erp:
    """Closed-loop pairs from ``clients`` threads until ``until()`` says stop."""
    erp = Erp(erp_port, token)

    def client() -> None:
        while not until():
            erp.pair()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return erp


def check(v2, instances: int) -> dict:
    from processes.models import Job, ProcessInstance, WaitingStep
    from tasks.models import HumanTask

    return {
        "on_version_2": ProcessInstance.objects.filter(process_key="moving", definition=v2).count(),
        "open_tasks_kept": HumanTask.objects.filter(process_key="moving", status="open", definition=v2).count(),
        "timers_created": Job.objects.filter(instance__process_key="moving", element_id="late").count(),
        "waiting_rows": WaitingStep.objects.filter(instance__process_key="moving").count(),
        "expected": instances,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--instances", type=int, default=10_000)
    parser.add_argument("--chunk", type=int, default=50)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--baseline-seconds", type=float, default=15)
    args = parser.parse_args()
    token = prepare()  # django.setup(), migrations, the bench_http process and an API token
    from django.db import connection

    from processes import services
    from processes.models import Batch
    from processes.services import batches

    v1, v2 = generate(args.instances)
    ids = list(v1.instances.values_list("pk", flat=True))
    plan = services.migration_plan_generate(source=v1, target=v2)
    port = free_port()
    with gunicorn(port, args.workers):
        Erp(port, token).pair()  # warm each worker a little
        stop_at = time.perf_counter() + args.baseline_seconds
        before = measure(port, token, args.clients, lambda: time.perf_counter() > stop_at)
        before.report({"measure": "requests before", "clients": args.clients}, args.baseline_seconds)

        batch = Batch.objects.create(kind="migrate", params={"plan": plan.as_dict()}, item_ids=ids, total=len(ids))
        done = threading.Event()
        timing = {}

        def worker() -> None:
            began = time.perf_counter()
            while batches.batch_run_chunk(batch.pk, chunk=args.chunk):
                pass
            timing["seconds"] = time.perf_counter() - began
            connection.close()
            done.set()

        runner = threading.Thread(target=worker)
        runner.start()
        began = time.perf_counter()
        during = measure(port, token, args.clients, done.is_set)
        runner.join()
        during.report({"measure": "requests during the batch", "clients": args.clients}, time.perf_counter() - began)
        batch.refresh_from_db()
        print(
            json.dumps(
                {
                    "measure": "migration batch",
                    "instances": batch.total,
                    "chunk": args.chunk,
                    "succeeded": batch.succeeded,
                    "failed": batch.failed,
                    "seconds": round(timing["seconds"], 1),
                    "instances_per_s": round(batch.total / timing["seconds"], 1),
                }
            )
        )
        print(json.dumps({"measure": "after", **check(v2, args.instances)}))


if __name__ == "__main__":
    main()
