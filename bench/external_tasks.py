"""External-task workers through /engine-rest: how soon a long-polling worker gets new work,
what the round trip costs, and what waiting workers hold on a web node.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bpm_bench_ext python bench/external_tasks.py \\
        [--workers 2 --threads 16] [--pollers 8] [--rate 20 --rate 40] [--seconds 20] [--idle 8 --idle 24]

Prepares the database (migrate, a process whose one step is an external task, an OAuth2
client), serves it with gunicorn (gthread) on 127.0.0.1, long polls shared through Redis as
on separate web nodes (``BPM_LONG_POLL_REDIS_URL``), and drives it from this process
(standard library only). Prints one JSON line per measurement:

- ``delivery`` (per ``--rate``): ERPs start instances at R/s (open loop) while ``--pollers``
  workers long-poll (``asyncResponseTimeout`` 2 s, ``--max-tasks`` each, 10 by default) and complete what they
  get. Latency from sending the start request to a worker holding the task (p50/p95/p99;
  the start request's own latency beside it), from the task's row being written
  (its ``createTime``, same clock) to a worker holding it, the complete's latency, tasks/s, and tasks
  not delivered within 60 s of the last start (must be 0).
- ``idle`` (per ``--idle`` N): N workers long-poll with nothing to do; meanwhile a client
  asks ``GET /engine-rest/version`` 20 times: its p50/p95 tells whether the node still
  answers, and the database's connections of this database while they wait tell that the
  waits hold none.
"""

from __future__ import annotations

import argparse
import datetime
import http.client
import json
import os
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bpm.settings")
os.environ.setdefault("SECRET_KEY", "bench")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bpm_bench_ext")
os.environ.setdefault("BPM_API_RATE", "1000000/min")

from api_http import _figures, free_port, gunicorn  # noqa: E402  (bench/ is not a package)

TOPIC = "bench-charge"
PROCESS = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="t">
  <bpmn:process id="bench_ext" isExecutable="true">
    <bpmn:startEvent id="s"/>
    <bpmn:serviceTask id="charge" camunda:type="external" camunda:topic="{TOPIC}"/>
    <bpmn:endEvent id="e"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="charge"/>
    <bpmn:sequenceFlow id="f2" sourceRef="charge" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>""".encode()
SCOPES = "read instances:start instances:manage"


def prepare() -> str:
    import django

    django.setup()
    from datetime import timedelta

    from django.core.management import call_command
    from django.utils import timezone
    from oauth2_provider.models import AccessToken, Application
    from oauthlib.common import generate_token

    from integrations import services as clients
    from integrations.models import ApiClient
    from processes import services
    from processes.models import WaitingStep

    call_command("migrate", verbosity=0)
    services.definition_deploy(files=[("bench_ext.bpmn", PROCESS)])
    WaitingStep.objects.filter(event_name=TOPIC).delete()  # left by an earlier run
    ApiClient.objects.filter(application__name="bench-ext").delete()
    Application.objects.filter(name="bench-ext").delete()
    new = clients.client_create(
        name="bench-ext", service_username="svc-bench-ext", scopes=SCOPES.split(), groups=["BPM Administrator"]
    )
    token = AccessToken.objects.create(
        application=new.client.application,
        token=generate_token(),
        expires=timezone.now() + timedelta(hours=2),
        scope=SCOPES,
    )
    return token.token


class Client:
    """One keep-alive connection, as the Camunda clients hold one per worker."""

    def __init__(self, port: int, token: str):
        self.port, self.token = port, token
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=90)

    def call(self, method: str, path: str, body: dict | None = None) -> tuple[int, object]:
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
        for attempt in (1, 2):
            try:
                self.connection.request(method, path, json.dumps(body) if body is not None else None, headers)
                response = self.connection.getresponse()
                data = response.read()
                return response.status, (json.loads(data) if data else None)
            except (OSError, http.client.HTTPException):
                self.connection.close()
                self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=90)
                if attempt == 2:
                    return 0, None
        return 0, None


def fetch_body(worker: str, timeout_ms: int, max_tasks: int = 1) -> dict:
    return {
        "workerId": worker,
        "maxTasks": max_tasks,
        "asyncResponseTimeout": timeout_ms,
        "topics": [{"topicName": TOPIC, "lockDuration": 60000}],
    }


def delivery(port: int, token: str, pollers: int, max_tasks: int, rate: float, seconds: float) -> None:
    sent: dict[str, float] = {}
    delivered, completed, starts, failures = [], [], [], {"start": 0, "fetch": 0, "complete": 0}
    seen: set[str] = set()
    waited: list[float] = []  # from the task's row being written (createTime) to a worker holding it
    fetches = [0]
    twice: list[str] = []  # a task given to two workers: must stay empty
    lock = threading.Lock()
    stop = threading.Event()

    def worker(n: int) -> None:
        client = Client(port, token)
        while not stop.is_set():
            status, tasks = client.call(
                "POST", "/engine-rest/external-task/fetchAndLock", fetch_body(f"w{n}", 2000, max_tasks)
            )
            now, wall = time.perf_counter(), time.time()
            with lock:
                fetches[0] += 1
            if status != 200:
                with lock:
                    failures["fetch"] += 1
                continue
            for task in tasks:
                with lock:
                    key = task["businessKey"]
                    if key in seen:
                        twice.append(key)
                    elif key in sent:
                        seen.add(key)
                        delivered.append((now - sent[key]) * 1000)
                        created = datetime.datetime.strptime(task["createTime"], "%Y-%m-%dT%H:%M:%S.%f%z")
                        waited.append((wall - created.timestamp()) * 1000)
                begin = time.perf_counter()
                status, _ = client.call(
                    "POST", f"/engine-rest/external-task/{task['id']}/complete", {"workerId": f"w{n}"}
                )
                with lock:
                    if status == 204:
                        completed.append((time.perf_counter() - begin) * 1000)
                    else:
                        failures["complete"] += 1

    def start(key: str) -> None:
        with lock:
            sent[key] = time.perf_counter()
        status, _ = Client(port, token).call(
            "POST", "/engine-rest/process-definition/key/bench_ext/start", {"businessKey": key}
        )
        if status == 200:
            with lock:
                starts.append((time.perf_counter() - sent[key]) * 1000)
        else:
            with lock:
                failures["start"] += 1
                sent.pop(key, None)

    threads = [threading.Thread(target=worker, args=(n,), daemon=True) for n in range(pollers)]
    for thread in threads:
        thread.start()
    time.sleep(1)  # the pollers are waiting
    begin = time.perf_counter()
    with ThreadPoolExecutor(max_workers=32) as senders:
        n = 0
        while (due := begin + n / rate) < begin + seconds:
            time.sleep(max(0.0, due - time.perf_counter()))
            senders.submit(start, uuid.uuid4().hex)
            n += 1
    settle = time.perf_counter() + 60  # a backlog is worked off, not dropped
    while len(delivered) < len(sent) and time.perf_counter() < settle:
        time.sleep(0.1)
    elapsed = time.perf_counter() - begin
    stop.set()
    for thread in threads:
        thread.join(timeout=5)
    figures = _figures(delivered, failures["fetch"], elapsed)
    print(
        json.dumps(
            {
                "measure": "delivery",
                "pollers": pollers,
                "max_tasks": max_tasks,
                "offered_per_s": rate,
                "started": len(sent),
                "not_delivered": len(sent) - len(delivered),
                "delivered_twice": len(twice),
                "fetch_requests_per_task": round(fetches[0] / max(len(delivered), 1), 2),
                "tasks_per_s": figures["rps"],
                "created_to_worker_p50_ms": _figures(waited, 0, elapsed)["p50_ms"],
                "created_to_worker_p95_ms": _figures(waited, 0, elapsed)["p95_ms"],
                "deliver_p50_ms": figures["p50_ms"],
                "deliver_p95_ms": figures["p95_ms"],
                "deliver_p99_ms": figures["p99_ms"],
                "start_p50_ms": _figures(starts, 0, elapsed)["p50_ms"],
                "start_p95_ms": _figures(starts, 0, elapsed)["p95_ms"],
                "complete_p50_ms": _figures(completed, 0, elapsed)["p50_ms"],
                "complete_p95_ms": _figures(completed, 0, elapsed)["p95_ms"],
                "failures": failures,
            }
        )
    )


def _connections(database: str) -> int:
    import psycopg

    admin = os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        return conn.execute("select count(*) from pg_stat_activity where datname = %s", [database]).fetchone()[0]


def idle(port: int, token: str, waiting: int) -> None:
    database = os.environ["DATABASE_URL"].rsplit("/", 1)[1]
    answered = threading.Event()

    def poll(n: int) -> None:
        Client(port, token).call("POST", "/engine-rest/external-task/fetchAndLock", fetch_body(f"idle{n}", 15000))
        answered.set()

    before = _connections(database)
    threads = [threading.Thread(target=poll, args=(n,), daemon=True) for n in range(waiting)]
    for thread in threads:
        thread.start()
    time.sleep(2)  # all are waiting
    connections = _connections(database)
    latencies, failures = [], 0
    for _ in range(20):
        begin = time.perf_counter()
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
        try:
            connection.request("GET", "/engine-rest/version", headers={"Authorization": f"Bearer {token}"})
            ok = connection.getresponse().status == 200
        except OSError:
            ok = False
        finally:
            connection.close()
        if ok:
            latencies.append((time.perf_counter() - begin) * 1000)
        else:
            failures += 1
        if answered.is_set():
            break  # a poll ran out: what follows no longer measures waiting workers
    figures = _figures(latencies, failures, 1)
    print(
        json.dumps(
            {
                "measure": "idle",
                "waiting_pollers": waiting,
                "db_connections_before": before,
                "db_connections_while_waiting": connections,
                "other_request_p50_ms": figures["p50_ms"],
                "other_request_p95_ms": figures["p95_ms"],
                "other_requests": figures["requests"],
                "a_poll_ended_early": answered.is_set() and len(latencies) < 20,
            }
        )
    )
    for thread in threads:
        thread.join(timeout=20)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=16, help="threads per gthread worker")
    parser.add_argument("--pollers", type=int, default=8, help="long-polling workers during delivery")
    parser.add_argument("--rate", type=float, action="append", default=[], help="instances started per second")
    parser.add_argument("--max-tasks", type=int, default=10, help="maxTasks per fetch (Camunda's Node client: 10)")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--idle", type=int, action="append", default=[], help="waiting workers with nothing to do")
    args = parser.parse_args()
    args.rate = args.rate or [10, 40]
    args.idle = args.idle or [8, 24]
    token = prepare()
    port = free_port()
    threads = ["-k", "gthread", "--threads", str(args.threads), "--timeout", "120"]
    redis = {"BPM_LONG_POLL_REDIS_URL": os.environ.get("BPM_LONG_POLL_REDIS_URL", "redis://127.0.0.1:6379/4")}
    print(json.dumps({"server": f"gunicorn gthread, {args.workers} workers x {args.threads} threads"}))
    with gunicorn(port, args.workers, extra_args=threads, extra_env=redis):
        warm = Client(port, token)
        for _ in range(args.workers * 4):  # imports, parsed spec, token check
            warm.call("POST", "/engine-rest/process-definition/key/bench_ext/start", {"businessKey": "warm"})
            _, tasks = warm.call("POST", "/engine-rest/external-task/fetchAndLock", fetch_body("warm", 0))
            for task in tasks or []:
                warm.call("POST", f"/engine-rest/external-task/{task['id']}/complete", {"workerId": "warm"})
        for waiting in args.idle:  # first: a fresh node, no backlog a waiting worker could take
            idle(port, token, waiting)
        for rate in args.rate:
            delivery(port, token, args.pollers, args.max_tasks, rate, args.seconds)


if __name__ == "__main__":
    main()
