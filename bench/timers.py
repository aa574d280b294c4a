"""Timer firing throughput and latency with 1, 2 and 4 Celery workers (real Redis and PostgreSQL).

    python bench/timers.py [--timers 1000] [--workers 1 2 4]

For each worker count: starts N instances whose 2-second timers come due within the same
moment, runs K solo workers and one beat (ticking every 0.2 s), and waits until every
timer fired. Prints one JSON line per K: wall time from the first due time to the last
fired, timers per second, latency (due -> fired) median / p95 / max, and whether any job ran
twice (it must not).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bpm.settings")
os.environ.setdefault("SECRET_KEY", "bench")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bpm_bench")
BROKER = os.environ.get("BPM_BENCH_BROKER_URL", "redis://127.0.0.1:6379/13")

WAIT = (
    '<?xml version="1.0" encoding="UTF-8"?><bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'id="d" targetNamespace="x"><bpmn:process id="bench_timer" isExecutable="true"><bpmn:startEvent id="start"/>'
    '<bpmn:intermediateCatchEvent id="pause"><bpmn:timerEventDefinition><bpmn:timeDuration>${delay}</bpmn:timeDuration>'
    '</bpmn:timerEventDefinition></bpmn:intermediateCatchEvent><bpmn:endEvent id="end"/>'
    '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="pause"/><bpmn:sequenceFlow id="f2" sourceRef="pause" targetRef="end"/>'
    "</bpmn:process></bpmn:definitions>"
)


def run(workers: int, timers: int) -> dict:
    import redis
    from django.db import connection
    from django.utils import timezone

    from processes import services
    from processes.models import HistoryEvent, Job, ProcessInstance, WaitingStep

    redis.Redis.from_url(BROKER).flushdb()
    Job.objects.all().delete()
    WaitingStep.objects.all().delete()
    HistoryEvent.objects.all().delete()
    ProcessInstance.objects.all().delete()
    result = services.definition_deploy(files=[("timer.bpmn", WAIT.encode())])
    definition = (result.created or result.unchanged)[0]
    # All timers come due together: the delay shrinks as the seeding goes on.
    target = timezone.now().timestamp() + 10 + timers * 0.01
    for _ in range(timers):
        delay = max(1.0, target - timezone.now().timestamp())
        services.instance_start(definition=definition, variables={"delay": f"PT{delay:.3f}S"})
    connection.close()
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "CELERY_BROKER_URL": BROKER,
        "BPM_TICK_SECONDS": "0.2",
        "BPM_JOB_BATCH_SIZE": "100",
    }
    celery = [sys.executable, "-m", "celery", "-A", "bpm"]
    schedule = Path(tempfile.mkdtemp()) / "beat"
    procs = [
        subprocess.Popen(
            [*celery, "worker", "-P", "solo", "-l", "error", "--without-gossip", "--without-mingle", "-n", f"w{i}@%h"],
            env=env,
            cwd=REPO,
        )
        for i in range(workers)
    ]
    procs.append(subprocess.Popen([*celery, "beat", "-l", "error", "-s", str(schedule)], env=env, cwd=REPO))
    try:
        deadline = time.monotonic() + 120 + timers * 0.1
        while time.monotonic() < deadline:
            if not Job.objects.exclude(status="done").exists():
                break
            time.sleep(0.5)
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=20)
    done = list(Job.objects.filter(status="done").values_list("due_at", "finished_at"))
    latencies = sorted((finished - due).total_seconds() for due, finished in done)
    fired_twice = HistoryEvent.objects.filter(kind="step_completed", element_id="pause").count() - len(done)
    first_due = min(due for due, _ in done)
    last_fired = max(finished for _, finished in done)
    wall = (last_fired - first_due).total_seconds()
    return {
        "workers": workers,
        "timers": timers,
        "fired": len(done),
        "fired_twice": fired_twice,
        "wall_s": round(wall, 2),
        "timers_per_s": round(len(done) / wall, 1) if wall > 0 else None,
        "latency_median_s": round(statistics.median(latencies), 2),
        "latency_p95_s": round(latencies[int(len(latencies) * 0.95) - 1], 2),
        "latency_max_s": round(latencies[-1], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--timers", type=int, default=1000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    args = parser.parse_args()
    import django

    django.setup()
    sys.path.insert(0, str(REPO / "bench"))
    from django.core.management import call_command
    from engine import _ensure_database

    _ensure_database()
    call_command("migrate", verbosity=0)
    for workers in args.workers:
        print(json.dumps(run(workers, args.timers)), flush=True)


if __name__ == "__main__":
    main()
