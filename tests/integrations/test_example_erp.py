"""examples/erp/erp.py, run as a separate process against a live server, does what it says."""

import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from django.db import connection

from integrations import services
from notifications import services as notifications

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.django_db(transaction=True)
def test_the_example_erp_integration_runs_end_to_end(live_server, settings):
    settings.BPM = {**settings.BPM, "WEBHOOK_ALLOWED_NETWORKS": ["127.0.0.0/8"]}
    client = services.client_create(
        name="erp",
        service_username="svc-erp",
        scopes=["read", "definitions:deploy", "instances:start", "messages:correlate", "webhooks:manage"],
        groups=["BPM Administrator"],
    )
    stop = threading.Event()

    def deliver():  # plays the Celery worker: sends the outbox while the ERP runs
        while not stop.is_set():
            notifications.deliver_due()
            stop.wait(0.2)
        connection.close()

    worker = threading.Thread(target=deliver, daemon=True)
    worker.start()
    try:
        result = subprocess.run(
            [
                sys.executable,
                str(REPO / "examples" / "erp" / "erp.py"),
                "--base-url",
                live_server.url,
                "--client-id",
                client.client_id,
                "--client-secret",
                client.client_secret,
                "--port",
                str(_free_port()),
                "--timeout",
                "60",
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        stop.set()
        worker.join(timeout=10)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PO-1001 closed with its goods receipt booked" in result.stdout
