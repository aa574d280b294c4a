"""With the broker stopped during a burst of 500 events, every one is delivered once it is
back, none twice: a real Celery worker and beat, a private Redis as the broker, a local
webhook receiver."""

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.db import connection

from notifications import services
from notifications.models import Delivery
from tests.jobs.test_celery_worker import REPO, start_celery, stop_celery

REDIS_SERVER = shutil.which("redis-server")
BURST = 500

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(REDIS_SERVER is None, reason="redis-server not installed (apt-get install redis-server)"),
]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PrivateRedis:
    """A broker this test may stop and start again (the shared one is left alone)."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.process = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture
def broker():
    redis = PrivateRedis()
    redis.start()
    yield redis
    redis.stop()


@pytest.fixture
def counting_receiver():
    seen: list[str] = []
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            with lock:
                seen.append(self.headers["webhook-id"])
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hooks", seen
    server.shutdown()


def _database_url() -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


BURST_SCRIPT = f"""
from django.db import transaction
from notifications import services
for n in range({BURST}):
    with transaction.atomic():
        services.event_emit(event_type="workflow.instance.completed", payload={{"n": n}}, process_key="burst")
"""


@pytest.mark.django_db(transaction=True)
def test_events_emitted_while_the_broker_is_down_are_all_delivered_once_it_is_back(
    tmp_path, broker, counting_receiver, settings
):
    url, seen = counting_receiver
    settings.BPM = {**settings.BPM, "WEBHOOK_ALLOWED_NETWORKS": ["127.0.0.0/8"]}
    services.subscription_create(name="erp", url=url)
    celery = start_celery(
        tmp_path,
        1,
        broker=broker.url,
        extra_env={"BPM_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8", "BPM_SWEEP_SECONDS": "1"},
    )
    try:
        broker.stop()
        # the burst comes from another process (as from a web server), whose publishes fail
        env = {**os.environ, "DATABASE_URL": _database_url(), "CELERY_BROKER_URL": broker.url}
        env.pop("CELERY_TASK_ALWAYS_EAGER", None)
        burst = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", BURST_SCRIPT],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert burst.returncode == 0, burst.stderr[-2000:]
        assert Delivery.objects.filter(status="pending").count() == BURST
        time.sleep(2)
        assert seen == []  # nothing can be sent while the broker is down

        broker.start()
        back = time.monotonic()
        deadline = back + 180
        while len(seen) < BURST and time.monotonic() < deadline:
            time.sleep(0.5)
        print(f"{len(seen)} delivered {time.monotonic() - back:.1f} s after the broker came back")
        time.sleep(2)  # anything sent twice would arrive now
    finally:
        stop_celery(celery)
    assert len(seen) == BURST, f"{len(seen)} of {BURST} delivered"
    assert len(set(seen)) == BURST
    assert Delivery.objects.filter(status="delivered").count() == BURST
