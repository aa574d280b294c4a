"""Scale-out: one node against two, each node a gunicorn process group and a Celery worker,
all sharing PostgreSQL, Redis (cache and broker) and one beat, as separate machines would.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bpm_bench_scale python bench/scale_out.py \\
        [--nodes 1 2] [--clients 8] [--seconds 30] [--web-workers 1]

The process: start, script task, user task (completed through the API), then a script task
marked ``camunda:asyncBefore`` (a job a Celery worker runs), end. For each node count: N
gunicorn groups on N ports, N Celery workers (solo pool) and one beat; ``--clients`` closed-loop
ERPs spread over the ports (a load balancer's round robin) start and complete instances for
``--seconds``; then the bench waits until every job ran. One JSON line per node count:

- ``api_instances_per_s``: start+complete pairs answered per second;
- ``jobs_per_s`` and ``drain_s``: jobs run per second from the first start to the last job;
- ``done_twice``: async steps completed more than once, jobs run more than once, instances
  whose step history is not exactly one of each (must all be 0);
- ``per_port`` / ``per_worker``: how the work spread over the nodes.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bpm.settings")
os.environ.setdefault("SECRET_KEY", "bench")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bpm_bench_scale")
os.environ.setdefault("BPM_API_RATE", "1000000/min")
BROKER = os.environ.get("BPM_BENCH_BROKER_URL", "redis://127.0.0.1:6379/12")

PROCESS = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="t">
  <bpmn:process id="bench_http" isExecutable="true">
    <bpmn:startEvent id="s"/><bpmn:scriptTask id="calc"><bpmn:script>total = amount * 2</bpmn:script></bpmn:scriptTask>
    <bpmn:userTask id="review" name="Review"/>
    <bpmn:scriptTask id="book" camunda:asyncBefore="true"><bpmn:script>booked = total + 1</bpmn:script></bpmn:scriptTask>
    <bpmn:endEvent id="e"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="calc"/><bpmn:sequenceFlow id="f2" sourceRef="calc" targetRef="review"/>
    <bpmn:sequenceFlow id="f3" sourceRef="review" targetRef="book"/><bpmn:sequenceFlow id="f4" sourceRef="book" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>"""


@contextlib.contextmanager
def nodes(count: int, web_workers: int, pin: bool):
    """``count`` nodes (a gunicorn group and a Celery worker each, own process groups) and one
    beat; yields the ports. ``pin`` keeps node i on CPU i (``taskset``), as if each node were a
    machine of one core; the database, Redis and the clients stay unpinned."""
    import api_http
    from django.db import connection

    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "CELERY_BROKER_URL": BROKER,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "CACHE_URL": os.environ.get("CACHE_URL", "redis://127.0.0.1:6379/3"),
        "BPM_TICK_SECONDS": "0.2",
        "LOG_LEVEL": "WARNING",
        "BPM_SSL_REDIRECT": "false",
        "BPM_SECURE_COOKIES": "false",
    }
    celery = [sys.executable, "-m", "celery", "-A", "bpm"]
    ports = [api_http.free_port() for _ in range(count)]
    quiet = {"cwd": REPO, "env": env, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    procs = []
    for i, port in enumerate(ports):
        cpu = ["taskset", "-c", str(i % os.cpu_count())] if pin else []
        web = [*cpu, sys.executable, "-m", "gunicorn", "bpm.wsgi", "-b", f"127.0.0.1:{port}", "-w", str(web_workers)]
        procs.append(subprocess.Popen(web, start_new_session=True, **quiet))
        worker = [*cpu, *celery, "worker", "-P", "solo", "-l", "error", "--without-gossip", "--without-mingle"]
        procs.append(subprocess.Popen([*worker, "-n", f"node{i}@%h"], start_new_session=True, **quiet))
    schedule = Path(tempfile.mkdtemp()) / "beat"
    procs.append(
        subprocess.Popen([*celery, "beat", "-l", "error", "-s", str(schedule)], start_new_session=True, **quiet)
    )
    try:
        for port in ports:
            api_http.wait_for_port(port)
        yield ports
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=20)


def run(count: int, token: str, clients: int, seconds: float, web_workers: int, pin: bool) -> dict:
    import api_http
    import redis
    from django.db.models import Count

    from processes.models import HistoryEvent, Job

    redis.Redis.from_url(BROKER).flushdb()
    _empty_instances()
    with nodes(count, web_workers, pin) as ports:
        erps = [api_http.Erp(port, token) for port in ports]
        for erp in erps:  # each worker's first requests (imports, parsed spec) are not measured
            for _ in range(web_workers * 3):
                erp.pair()
        _wait_jobs_done(60)
        _empty_instances()
        for erp in erps:
            erp.latencies = {name: [] for name in erp.latencies}
        before = _database_counters()
        begin = time.perf_counter()

        def client(n: int) -> None:
            erp = erps[n % len(erps)]
            while time.perf_counter() - begin < seconds:
                erp.pair()

        threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        api_elapsed = time.perf_counter() - begin
        drained = _wait_jobs_done(300)
        drain = time.perf_counter() - begin
        spent = {k: v - before[k] for k, v in _database_counters().items()}
    pairs = sum(len(erp.latencies["complete step"]) for erp in erps)
    jobs = Job.objects.filter(status="done").count()
    booked = HistoryEvent.objects.filter(kind="step_completed", element_id="book")
    per_instance = booked.values("instance_id").annotate(n=Count("id"))
    return {
        "nodes": count,
        "web_workers_per_node": web_workers,
        "pinned": pin,
        "clients": clients,
        "api_instances_per_s": round(pairs / api_elapsed, 1),
        "failures": sum(sum(erp.failures.values()) for erp in erps),
        "jobs": jobs,
        "jobs_per_s": round(jobs / drain, 1),
        "drain_s": round(drain, 1),
        "all_jobs_ran": drained,
        "done_twice": {
            "async_step": per_instance.filter(n__gt=1).count(),
            "jobs_attempted_twice": Job.objects.filter(attempts__gt=1).count(),
            "jobs_vs_pairs": jobs - pairs,
        },
        "per_port": [len(erp.latencies["complete step"]) for erp in erps],
        "database_per_instance": {k: round(v / max(1, jobs), 1) for k, v in spent.items()},
        "p95_ms": api_http._figures([v for erp in erps for vs in erp.latencies.values() for v in vs], 0, api_elapsed)[
            "p95_ms"
        ],
    }


def _database_counters() -> dict[str, float]:
    """What the database did so far: transactions, rows written, WAL bytes (what a bigger
    database must sustain per instance)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT xact_commit, tup_inserted + tup_updated + tup_deleted, blks_hit + blks_read,"
            " pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0') FROM pg_stat_database WHERE datname = current_database()"
        )
        commits, rows, blocks, wal = cursor.fetchone()
    return {"commits": commits, "rows_written": rows, "blocks_read": blocks, "wal_kb": float(wal) / 1024}


def _wait_jobs_done(limit: float) -> bool:
    from processes.models import Job

    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if not Job.objects.exclude(status="done").exists():
            return True
        time.sleep(0.2)
    return False


def _empty_instances() -> None:
    from processes.models import HistoryEvent, Job, ProcessInstance, WaitingStep
    from tasks.models import HumanTask

    for model in (Job, WaitingStep, HumanTask, HistoryEvent, ProcessInstance):
        model.objects.all().delete()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nodes", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--web-workers", type=int, default=1, help="gunicorn workers per node")
    parser.add_argument("--pin", action="store_true", help="node i runs on CPU i only (taskset)")
    args = parser.parse_args()
    import api_http
    import django
    from engine import _ensure_database

    django.setup()
    _ensure_database()
    api_http.PROCESS = PROCESS
    token = api_http.prepare()
    for count in args.nodes:
        print(json.dumps(run(count, token, args.clients, args.seconds, args.web_workers, args.pin)), flush=True)


if __name__ == "__main__":
    main()
