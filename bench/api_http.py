"""Start-instance and complete-step latency through HTTP under concurrent load.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bpm_bench_http python bench/api_http.py \\
        [--rate 40 --rate 80 ...] [--clients 8 ...] [--seconds 30] [--workers 4] [--worker-class sync]

Prepares the database (migrate, a process with a script task then a user task, an OAuth2
client), serves the API with gunicorn on 127.0.0.1 with PostgreSQL behind, and drives it
from this process (standard library only, threads, a new connection per request as an ERP
connector typically opens). Each simulated ERP starts an instance and completes its step
with a bearer token. Two kinds of load, each printed as one JSON line per request kind
(requests/s, p50, p95, p99, failures):

- ``--rate R`` (open loop): pairs are sent on a fixed schedule adding up to R requests/s,
  whatever the server's answers; a request's latency counts from when it was due, so time
  spent waiting for a free sender counts too (no coordinated omission).
- ``--clients N`` (closed loop): N ERPs each send the next pair as soon as the last is
  answered: the server's capacity, where latency is mostly queueing.

``--engine-seconds S`` first measures the engine in this process (bench/engine.py's process
(a) through the services, no HTTP) for S seconds; each closed loop then also prints
``instances_per_s`` (completed pairs) and ``http_to_engine``, their ratio to that rate.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bpm.settings")
os.environ.setdefault("SECRET_KEY", "bench")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bpm_bench_http")
os.environ.setdefault("BPM_API_RATE", "1000000/min")

PROCESS = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="bench_http" isExecutable="true">
    <bpmn:startEvent id="s"/><bpmn:scriptTask id="calc"><bpmn:script>total = amount * 2</bpmn:script></bpmn:scriptTask>
    <bpmn:userTask id="review" name="Review"/><bpmn:endEvent id="e"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="calc"/><bpmn:sequenceFlow id="f2" sourceRef="calc" targetRef="review"/>
    <bpmn:sequenceFlow id="f3" sourceRef="review" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>"""


def prepare() -> str:
    import django

    django.setup()
    sys.path.insert(0, str(REPO / "bench"))
    from django.core.management import call_command
    from engine import _ensure_database
    from oauth2_provider.models import AccessToken

    from integrations import services as clients
    from processes import services

    _ensure_database()
    call_command("migrate", verbosity=0)
    services.definition_deploy(files=[("bench_http.bpmn", PROCESS)])
    from integrations.models import ApiClient

    ApiClient.objects.filter(application__name="bench").delete()
    from oauth2_provider.models import Application

    Application.objects.filter(name="bench").delete()
    new = clients.client_create(
        name="bench",
        service_username="svc-bench",
        scopes=["read", "instances:start", "instances:manage", "tasks:complete"],
        groups=["BPM Administrator"],
    )
    from datetime import timedelta

    from django.utils import timezone
    from oauthlib.common import generate_token

    token = AccessToken.objects.create(
        application=new.client.application,
        token=generate_token(),
        expires=timezone.now() + timedelta(hours=2),
        scope="read instances:start instances:manage tasks:complete",
    )
    return token.token


def wait_for_port(port: int, seconds: float = 30) -> None:
    """Until the server just started accepts connections (or the time runs out)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.2)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def gunicorn(port: int, workers: int, *, extra_args: list[str] = (), extra_env: dict | None = None):
    """The API served by gunicorn on 127.0.0.1 (plain HTTP, background work in-process, a shared
    Redis cache as in production); stopped when the block ends."""
    env = {
        **os.environ,
        "CELERY_TASK_ALWAYS_EAGER": "true",
        "LOG_LEVEL": "WARNING",
        "BPM_SSL_REDIRECT": "false",
        "BPM_SECURE_COOKIES": "false",
        "CACHE_URL": os.environ.get("CACHE_URL", "redis://127.0.0.1:6379/3"),
        **(extra_env or {}),
    }
    command = [sys.executable, "-m", "gunicorn", "bpm.wsgi", "-b", f"127.0.0.1:{port}", "-w", str(workers), *extra_args]
    server = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port)
        yield server
    finally:
        server.terminate()
        server.wait(timeout=10)


class Erp:
    """Sends start-then-complete pairs and records each request's latency and failures."""

    def __init__(self, port: int, token: str):
        self.port, self.token = port, token
        self.latencies: dict[str, list[float]] = {"start instance": [], "complete step": []}
        self.failures = {name: 0 for name in self.latencies}
        self.lock = threading.Lock()

    def _post(self, name: str, path: str, body: dict, since: float) -> dict | None:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            connection.request(
                "POST",
                path,
                json.dumps(body),
                {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
            )
            response = connection.getresponse()
            data = response.read()
            ok = response.status in (200, 201)
        except OSError:
            data, ok = b"", False
        finally:
            connection.close()
        elapsed = (time.perf_counter() - since) * 1000
        with self.lock:
            if ok:
                self.latencies[name].append(elapsed)
            else:
                self.failures[name] += 1
        return json.loads(data) if ok else None

    def pair(self, due: float | None = None) -> None:
        started = self._post(
            "start instance",
            "/api/v1/instances/",
            {"definition_key": "bench_http", "business_key": uuid.uuid4().hex, "variables": {"amount": 5}},
            due if due is not None else time.perf_counter(),
        )
        if started is None:
            return
        step = started["waiting"][0]["spiff_task_id"]
        self._post(
            "complete step",
            f"/api/v1/instances/{started['id']}/steps/{step}/complete/",
            {"data": {"approved": True}},
            time.perf_counter(),
        )

    def report(self, load: dict, seconds: float) -> None:
        every = []
        for name, values in self.latencies.items():
            every += values
            print(json.dumps({"request": name, **load, **_figures(values, self.failures[name], seconds)}))
        print(json.dumps({"request": "both", **load, **_figures(every, sum(self.failures.values()), seconds)}))


def _figures(values: list[float], failures: int, seconds: float) -> dict:
    ordered = sorted(values)

    def at(q: float) -> float | None:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1) if ordered else None

    return {
        "requests": len(ordered),
        "failures": failures,
        "rps": round(len(ordered) / seconds, 1),
        "p50_ms": at(0.50),
        "p95_ms": at(0.95),
        "p99_ms": at(0.99),
    }


def open_loop(port: int, token: str, rate: float, seconds: float) -> None:
    """Pairs due on a fixed schedule (rate/2 pairs a second), latency from when each was due."""
    erp = Erp(port, token)
    interval = 2 / rate
    with ThreadPoolExecutor(max_workers=256) as senders:
        begin = time.perf_counter()
        n = 0
        while (due := begin + n * interval) < begin + seconds:
            time.sleep(max(0.0, due - time.perf_counter()))
            senders.submit(erp.pair, due)
            n += 1
    erp.report({"load": "open", "offered_rps": rate}, time.perf_counter() - begin)


ENGINE_IPS: list[float] = []


def engine_in_process(seconds: float) -> None:
    """The engine's rate in this process for the same kind of instance (the API's reference)."""
    sys.path.insert(0, str(REPO / "bench"))
    import engine

    one = engine.engine_runner(engine.PROCESSES["script_user_task"], "script_user_task")
    for _ in range(20):
        one()
    ips, done = engine._timed(seconds, one)
    ENGINE_IPS.append(ips)
    print(json.dumps({"request": "engine in-process", "engine_ips": round(ips, 1), "instances": done}), flush=True)


def closed_loop(port: int, token: str, clients: int, seconds: float) -> None:
    """Each client sends its next pair as soon as the last one is answered."""
    erp = Erp(port, token)
    begin = time.perf_counter()

    def client() -> None:
        while time.perf_counter() - begin < seconds:
            erp.pair()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - begin
    erp.report({"load": "closed", "clients": clients}, elapsed)
    if ENGINE_IPS:
        instances = len(erp.latencies["complete step"]) / elapsed
        print(
            json.dumps(
                {
                    "load": "closed",
                    "clients": clients,
                    "instances_per_s": round(instances, 1),
                    "http_to_engine": round(instances / ENGINE_IPS[-1], 3),
                }
            ),
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, action="append", default=[], help="open loop: requests/s offered")
    parser.add_argument("--clients", type=int, action="append", default=[], help="closed loop: concurrent ERPs")
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--worker-class", default="sync", help="gunicorn worker class: sync or gthread")
    parser.add_argument("--threads", type=int, default=1, help="threads per gthread worker")
    parser.add_argument("--engine-seconds", type=float, default=0, help="measure the in-process engine first")
    args = parser.parse_args()
    if not args.rate and not args.clients:
        args.rate, args.clients = [20, 40, 60, 80], [4, 8, 20]
    token = prepare()
    if args.engine_seconds:
        engine_in_process(args.engine_seconds)
    port = free_port()
    with gunicorn(port, args.workers, extra_args=["-k", args.worker_class, "--threads", str(args.threads)]):
        # every worker's first requests (imports, parsed spec, token check) are not measured
        closed_loop_quietly = Erp(port, token)
        with ThreadPoolExecutor(max_workers=args.workers * 2) as pool:
            list(pool.map(lambda _: closed_loop_quietly.pair(), range(args.workers * 10)))
        for rate in args.rate:
            open_loop(port, token, rate, args.seconds)
        for clients in args.clients:
            closed_loop(port, token, clients, args.seconds)


if __name__ == "__main__":
    main()
