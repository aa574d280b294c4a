"""Fault test (issue 14.5): PostgreSQL crashed, restarted and stopped under a burst of starts
and completions. A disposable server of its own (initdb/pg_ctl on a free port), so the
suite's database is never touched. Counted: acknowledged, persisted, lost, duplicated, and
every instance checked for half-done state."""

from __future__ import annotations

import glob
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
import pytest

from tests.notifications.test_broker_outage import counting_receiver  # noqa: F401 - the webhook receiver

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]
BURST = 240


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))
    if found:
        return Path(found[-1])
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


class DisposablePostgres:
    def __init__(self, root: Path):
        self.bin = _pg_bin()
        if self.bin is None:
            if os.environ.get("BPM_TEST_SKIP_FAULTS") == "1":
                pytest.skip("BPM_TEST_SKIP_FAULTS=1")
            pytest.fail(
                "No PostgreSQL server binaries (initdb, pg_ctl) for the fault test; or set BPM_TEST_SKIP_FAULTS=1"
            )
        self.data = root / "pgdata"
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.run_as = ["runuser", "-u", "nobody", "--"] if os.getuid() == 0 else []
        self.data.mkdir(parents=True)
        if self.run_as:
            for path in (root.parent, root, self.data):
                shutil.chown(path, "nobody")
        self._ctl([str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust"])
        self.start()
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute("CREATE DATABASE bpm_fault")

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/bpm_fault"

    def _ctl(self, command: list[str]) -> None:
        subprocess.run([*self.run_as, *command], check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        self._ctl([
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-w", "-l", str(self.data / "log"),
            "-o", f"-p {self.port} -k /tmp -c listen_addresses=127.0.0.1", "start",
        ])  # fmt: skip

    def stop(self, mode: str) -> None:
        self._ctl([str(self.bin / "pg_ctl"), "-D", str(self.data), "-w", "-m", mode, "stop"])

    def close(self) -> None:
        subprocess.run([*self.run_as, str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"],
                       capture_output=True, timeout=60)  # fmt: skip


@pytest.fixture
def postgres():
    # not under pytest's tmp_path: as root the server runs as nobody, who cannot enter it
    root = Path(tempfile.mkdtemp(prefix="bpm-fault-pg-"))
    server = DisposablePostgres(root / "pg")
    yield server
    server.close()
    shutil.rmtree(root, ignore_errors=True)


def _env(url: str) -> dict:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bpm.settings", "DATABASE_URL": url, "SECRET_KEY": "fault"}
    env["CELERY_TASK_ALWAYS_EAGER"] = "true"  # no broker in this test: background work in-process
    return env


# A client that starts a keyed instance and completes its task, as an ERP would: on a database
# error it reconnects and retries; a retry first looks for the key (the first try may have
# committed before its answer was lost). Each acknowledged key is appended to a file.
BURST_SCRIPT = """
import os, time
from django.db import connection, InterfaceError, OperationalError
from processes import services
from processes.models import ProcessInstance
from tasks.models import HumanTask
from tests.processes.factories import bpmn, chain
acks = open(os.environ["BURST_ACKS"], "a")
services.definition_deploy(files=[("f.bpmn", bpmn("fault", chain('<bpmn:userTask id="t"/>')))])
from notifications.services import subscription_create
subscription_create(name="erp", url=os.environ["BURST_HOOK"], event_types=["workflow.instance.completed"])
errors = 0
for n in range(int(os.environ["BURST_SIZE"])):
    key = f"B-{n}"
    for attempt in range(200):
        try:
            instance = ProcessInstance.objects.filter(business_key=key).first()
            if instance is None:
                instance = services.instance_start(key="fault", business_key=key)
            task = HumanTask.objects.filter(instance=instance, status="open").first()
            if task is not None:
                services.instance_complete_step(instance_id=instance.pk, spiff_task_id=str(task.spiff_task_id))
            break
        except (OperationalError, InterfaceError):
            errors += 1
            connection.close()
            time.sleep(0.2)
    else:
        raise SystemExit(f"gave up on {key}")
    acks.write(key + "\\n")
    acks.flush()
    os.fsync(acks.fileno())
print("errors", errors)
"""


SWEEP_SCRIPT = """
import time
from django.conf import settings
from notifications import services
time.sleep(settings.BPM["DELIVERY_LEASE_SECONDS"] + 1)  # leases of sends the faults cut short lapse
print("sweep", services.deliver_due())
"""


def test_a_database_crashed_restarted_and_stopped_under_load_loses_no_acknowledged_write(
    postgres,
    counting_receiver,  # noqa: F811 - the fixture imported above
    tmp_path,
):
    hook, seen = counting_receiver
    env = {**_env(postgres.url), "BPM_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8", "BURST_HOOK": hook}
    migrate = subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v", "0"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert migrate.returncode == 0, migrate.stderr[-2000:]
    acks = tmp_path / "acks.txt"
    acks.touch()
    burst = subprocess.Popen(
        [sys.executable, "manage.py", "shell", "-c", BURST_SCRIPT],
        cwd=REPO,
        env={**env, "PYTHONPATH": str(REPO), "BURST_SIZE": str(BURST), "BURST_ACKS": str(acks)},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip

    def acked() -> int:
        return len(acks.read_text().split())

    def wait_acks(count: int, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while acked() < count and time.monotonic() < deadline and burst.poll() is None:
            time.sleep(0.1)

    wait_acks(40)
    postgres.stop("immediate")  # a crash: no checkpoint, in-flight transactions die
    postgres.start()
    wait_acks(acked() + 40)
    postgres.stop("fast")  # a restart
    postgres.start()
    wait_acks(acked() + 40)
    postgres.stop("fast")
    time.sleep(5)  # down for a while: the client keeps retrying
    postgres.start()
    out, err = burst.communicate(timeout=300)
    assert burst.returncode == 0, err[-3000:]

    acknowledged = set(acks.read_text().split())
    with psycopg.connect(postgres.url.replace("postgres://", "postgresql://")) as conn:
        rows = conn.execute(
            "SELECT i.business_key, i.status, "
            " (SELECT count(*) FROM tasks_humantask t WHERE t.instance_id = i.id AND t.status = 'completed'),"
            " (SELECT count(*) FROM tasks_humantask t WHERE t.instance_id = i.id AND t.status = 'open'),"
            " (SELECT count(*) FROM processes_historyevent h WHERE h.instance_id = i.id AND h.kind = 'instance_completed'),"
            " (SELECT count(*) FROM processes_waitingstep w WHERE w.instance_id = i.id)"
            " FROM processes_processinstance i"
        ).fetchall()
    by_key: dict[str, list] = {}
    for key, *rest in rows:
        by_key.setdefault(key, []).append(rest)
    lost = sorted(acknowledged - set(by_key))
    duplicated = sorted(k for k, v in by_key.items() if len(v) > 1)
    half_done = sorted(
        k
        for k, versions in by_key.items()
        for status, done, open_, completed_events, waits in versions
        if not (
            (status == "completed" and done == 1 and open_ == 0 and completed_events == 1 and waits == 0)
            or (status == "running" and done == 0 and open_ == 1 and completed_events == 0 and waits == 1)
        )
    )
    retries = int(re.search(r"^errors (\d+)$", out, re.M).group(1))
    print(
        f"database faults: {BURST} attempted, {len(acknowledged)} acknowledged, {len(by_key)} persisted, "
        f"lost {len(lost)}, duplicated {len(duplicated)}, half-done {len(half_done)}; the client retried {retries} times"
    )
    assert len(acknowledged) == BURST
    assert lost == [] and duplicated == [] and half_done == []
    assert all(versions[0][0] == "completed" for versions in by_key.values())
    assert retries > 0, "the faults did not reach the client: the test proved nothing"

    # The outbox: sends the faults interrupted (in the burst's own after-commit sweeps) are
    # sent by a later sweep once their lease lapses; every event arrives, with its id.
    sweep = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", SWEEP_SCRIPT],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert sweep.returncode == 0, sweep.stderr[-2000:]
    with psycopg.connect(postgres.url.replace("postgres://", "postgresql://")) as conn:
        statuses = dict(conn.execute("SELECT status, count(*) FROM notifications_delivery GROUP BY status").fetchall())
        ids = {f"msg_{row[0].hex}" for row in conn.execute("SELECT message_id FROM notifications_delivery")}
    missing = ids - set(seen)
    print(
        f"outbox: {len(ids)} events, {statuses}, received {len(set(seen))} distinct ({len(seen)} posts), missing {len(missing)}"
    )
    assert len(ids) == BURST and statuses == {"delivered": BURST}
    assert missing == set()
