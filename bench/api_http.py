"""Start-instance and complete-step latency through HTTP under concurrent load.

    pip install -r bench/requirements.txt
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bpm_bench_http python bench/api_http.py \\
        [--users 20] [--seconds 30] [--workers 4]

Prepares the database (migrate, a process with one user task, an OAuth2 client), serves
the API with gunicorn on 127.0.0.1 (sync workers), drives it with locust (headless, each
user starts an instance and completes its step with a bearer token, no think time) and
prints one JSON line per request kind: requests/s, p50, p95, p99 and failures.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
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
    from django.core.management import call_command
    from oauth2_provider.models import AccessToken

    from integrations import services as clients
    from processes import services

    call_command("migrate", verbosity=0)
    services.definition_deploy(files=[("bench_http.bpmn", PROCESS)])
    from integrations.models import ApiClient

    ApiClient.objects.filter(application__name="bench").delete()
    from oauth2_provider.models import Application

    Application.objects.filter(name="bench").delete()
    new = clients.client_create(
        name="bench",
        service_username="svc-bench",
        scopes=["read", "instances:start", "instances:manage"],
        groups=["BPM Administrator"],
    )
    from datetime import timedelta

    from django.utils import timezone
    from oauthlib.common import generate_token

    token = AccessToken.objects.create(
        application=new.client.application,
        token=generate_token(),
        expires=timezone.now() + timedelta(hours=2),
        scope="read instances:start instances:manage",
    )
    return token.token


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    token = prepare()
    port = free_port()
    env = {**os.environ, "BENCH_TOKEN": token, "CELERY_TASK_ALWAYS_EAGER": "true", "LOG_LEVEL": "WARNING"}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "bpm.wsgi",
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            str(args.workers),
            "-k",
            "sync",
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.2)
        with tempfile.TemporaryDirectory() as tmp:
            prefix = str(Path(tmp) / "stats")
            subprocess.run(
                [
                    sys.executable, "-m", "locust", "-f", str(REPO / "bench" / "locustfile.py"), "--headless",
                    "-u", str(args.users), "-r", str(args.users), "-t", f"{args.seconds}s",
                    "-H", f"http://127.0.0.1:{port}", "--csv", prefix, "--only-summary",
                ],
                cwd=REPO, env=env, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            with open(f"{prefix}_stats.csv") as stats:
                for row in csv.DictReader(stats):
                    print(
                        json.dumps(
                            {
                                "request": row["Name"],
                                "users": args.users,
                                "gunicorn_workers": args.workers,
                                "requests": int(row["Request Count"]),
                                "failures": int(row["Failure Count"]),
                                "rps": round(float(row["Requests/s"]), 1),
                                "p50_ms": float(row["50%"]),
                                "p95_ms": float(row["95%"]),
                                "p99_ms": float(row["99%"]),
                            }
                        )
                    )
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
