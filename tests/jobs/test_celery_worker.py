"""Timers fired by a real Celery worker and beat, through Redis, on the test database."""

import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
from django.db import connection

from processes import services
from processes.models import Job, ProcessInstance
from tests.jobs.test_timers import WAIT
from tests.processes.factories import deploy_one

REPO = Path(__file__).resolve().parents[2]
BROKER = os.environ.get("BPM_TEST_BROKER_URL", "redis://127.0.0.1:6379/14")


SKIP_WORKERS = os.environ.get("BPM_TEST_SKIP_WORKERS") == "1"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(SKIP_WORKERS, reason="BPM_TEST_SKIP_WORKERS=1: the real-worker tests were turned off"),
]


@pytest.fixture(autouse=True, scope="module")
def _redis_is_there():
    """A Redis that does not answer fails these tests (they would prove nothing skipped);
    BPM_TEST_SKIP_WORKERS=1 turns them off on purpose."""
    import redis

    try:
        redis.Redis.from_url(BROKER, socket_connect_timeout=2).ping()
    except Exception as exc:  # noqa: BLE001
        pytest.fail(f"Redis not reachable at {BROKER} ({exc}); start it, or set BPM_TEST_SKIP_WORKERS=1")


def start_celery(tmp_path, workers: int, broker: str = BROKER, extra_env: dict | None = None) -> list:
    """Real worker processes and beat on the test database, on a queue of their own."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bpm.settings",
        "DATABASE_URL": url,
        "CELERY_BROKER_URL": broker,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "BPM_TICK_SECONDS": "0.5",
        # a queue of its own: another run or deployment on the same Redis cannot steal its jobs
        "CELERY_TASK_DEFAULT_QUEUE": os.environ.get("BPM_TEST_QUEUE") or f"bpm-test-{uuid.uuid4().hex[:12]}",
        "SECRET_KEY": os.environ.get("SECRET_KEY", "test"),
        **(extra_env or {}),
    }
    celery = [sys.executable, "-m", "celery", "-A", "bpm"]
    processes = [
        subprocess.Popen(
            [
                *celery,
                "worker",
                "-P",
                "solo",
                "-l",
                "warning",
                "--without-gossip",
                "--without-mingle",
                "-n",
                f"test{i}@%h",
            ],
            env=env,
            cwd=REPO,
        )
        for i in range(workers)
    ]
    processes.append(
        subprocess.Popen([*celery, "beat", "-l", "warning", "-s", str(tmp_path / "beat-schedule")], env=env, cwd=REPO)
    )
    return processes


def stop_celery(processes) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture
def worker_and_beat(tmp_path):
    processes = start_celery(tmp_path, 1)
    yield processes
    stop_celery(processes)


@pytest.fixture
def two_workers_and_beat(tmp_path):
    processes = start_celery(tmp_path, 2)
    yield processes
    stop_celery(processes)


@pytest.mark.django_db(transaction=True)
def test_a_two_second_timer_is_fired_once_by_a_celery_worker(worker_and_beat):
    instance = services.instance_start(definition=deploy_one(WAIT))
    started = time.monotonic()
    while time.monotonic() - started < 30:
        instance = ProcessInstance.objects.get(pk=instance.pk)
        if instance.status != "running":
            break
        time.sleep(0.2)
    waited = time.monotonic() - started
    assert instance.status == "completed", f"not fired after {waited:.1f} s"
    # not before it was due; after it, within the tick (0.5 s) and a busy machine's slack
    assert 1.5 <= waited <= 8, f"fired after {waited:.1f} s"
    assert instance.history.filter(kind="step_completed", element_id="pause").count() == 1
    assert Job.objects.get(instance=instance).status == "done"


@pytest.mark.django_db(transaction=True)
def test_two_hundred_timers_due_together_fire_once_each_with_two_workers(two_workers_and_beat):
    from processes.models import HistoryEvent

    definition = deploy_one(WAIT)
    instances = [services.instance_start(definition=definition).pk for _ in range(200)]
    started = time.monotonic()
    while time.monotonic() - started < 60:
        if not ProcessInstance.objects.filter(pk__in=instances, status="running").exists():
            break
        time.sleep(0.5)
    assert ProcessInstance.objects.filter(pk__in=instances, status="completed").count() == 200
    assert (
        HistoryEvent.objects.filter(instance_id__in=instances, kind="step_completed", element_id="pause").count() == 200
    )
    assert Job.objects.filter(instance_id__in=instances, status="done").count() == 200


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_job_leaves_it_to_be_taken_again_after_the_lock_expires_and_done_once(
    tmp_path, monkeypatch
):
    import signal

    from processes.models import HistoryEvent
    from tests.jobs.test_service_tasks import Receiver, quote_process

    server = Receiver()
    slow = {"first": True}
    arrived = threading.Event()
    handler_class = server.server.RequestHandlerClass
    original_post = handler_class.do_POST

    def slow_first_post(self):
        arrived.set()
        if slow["first"]:
            slow["first"] = False
            time.sleep(8)  # the worker is killed while it waits for this answer
        original_post(self)

    handler_class.do_POST = slow_first_post
    monkeypatch.setenv("BPM_JOB_LOCK_SECONDS", "3")
    first = start_celery(tmp_path, 1)
    try:
        instance = services.instance_start(
            definition=deploy_one(quote_process(server.url)), variables={"item": "x", "order": "K"}
        )
        assert arrived.wait(timeout=20), "the worker never called the service"
        first[0].send_signal(signal.SIGKILL)  # the worker dies mid-call
        first[0].wait(timeout=10)
    finally:
        stop_celery(first)
    second = start_celery(tmp_path / "second", 1)
    try:
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            if ProcessInstance.objects.get(pk=instance.pk).status == "completed":
                break
            time.sleep(0.3)
    finally:
        stop_celery(second)
        server.close()
    instance = ProcessInstance.objects.get(pk=instance.pk)
    assert instance.status == "completed"
    deadline = time.monotonic() + 15  # the killed worker's call is answered (and recorded) 8 s after it came
    while len(server.calls) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    # the service was called by the killed worker and once more by the one that took the job again
    assert [c["headers"]["X-Order"] for c in server.calls] == ["K", "K"]
    assert HistoryEvent.objects.filter(instance=instance, kind="step_completed", element_id="get_quote").count() == 1
    assert Job.objects.get(instance=instance).attempts == 2


@pytest.mark.django_db(transaction=True)
def test_a_boundary_timer_interrupts_a_user_task_through_a_celery_worker(worker_and_beat):
    from tasks.models import HumanTask
    from tests.processes.factories import bpmn

    body = (
        '<bpmn:startEvent id="start"/><bpmn:userTask id="work"/>'
        '<bpmn:boundaryEvent id="too_late" attachedToRef="work"><bpmn:timerEventDefinition><bpmn:timeDuration>PT2S</bpmn:timeDuration>'
        '</bpmn:timerEventDefinition></bpmn:boundaryEvent><bpmn:endEvent id="done"/><bpmn:endEvent id="timed_out"/>'
        '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work"/><bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="done"/>'
        '<bpmn:sequenceFlow id="f3" sourceRef="too_late" targetRef="timed_out"/>'
    )
    instance = services.instance_start(definition=deploy_one(bpmn("interrupted", body)))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and ProcessInstance.objects.get(pk=instance.pk).status == "running":
        time.sleep(0.2)
    assert ProcessInstance.objects.get(pk=instance.pk).status == "completed"
    assert HumanTask.objects.get(instance_id=instance.pk).status == "cancelled"


@pytest.mark.django_db(transaction=True)
def test_a_cycle_timer_start_event_starts_exactly_the_scheduled_instances_with_two_workers(two_workers_and_beat):
    from django.utils import timezone

    from tests.processes.factories import bpmn

    first = (timezone.now() + timezone.timedelta(seconds=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    body = (
        f'<bpmn:startEvent id="tick"><bpmn:timerEventDefinition><bpmn:timeCycle>R3/{first}/PT1S</bpmn:timeCycle>'
        '</bpmn:timerEventDefinition></bpmn:startEvent><bpmn:endEvent id="end"/>'
        '<bpmn:sequenceFlow id="f1" sourceRef="tick" targetRef="end"/>'
    )
    definition = deploy_one(bpmn("three_ticks", body))
    started = ProcessInstance.objects.filter(definition=definition)
    deadline = time.monotonic() + 30
    start_jobs = Job.objects.filter(definition=definition, kind="start_timer")
    # until the schedule is spent: every start job done, none pending or held by a worker. A
    # start commits with its job's "done", so no start can come after this point.
    while time.monotonic() < deadline and (started.count() < 3 or start_jobs.exclude(status="done").exists()):
        time.sleep(0.3)
    assert not start_jobs.exclude(status="done").exists()  # R3: no fourth scheduled
    assert started.count() == 3


@pytest.mark.django_db(transaction=True)
def test_a_batch_nobody_runs_is_handed_to_a_real_worker_by_beat(tmp_path):
    from processes.models import Batch
    from processes.services import batches
    from tests.processes.factories import bpmn, chain

    definition = deploy_one(bpmn("held", chain('<bpmn:userTask id="review"/>')))
    ids = [services.instance_start(definition=definition).pk for _ in range(5)]
    # created without its message to a worker (as if the broker lost it)
    batch = Batch.objects.create(kind="suspend", item_ids=ids, total=len(ids))
    processes = start_celery(
        tmp_path,
        1,
        extra_env={"BPM_BATCH_RESUME_SECONDS": "1", "BPM_BATCH_STALLED_SECONDS": "0", "BPM_BATCH_CHUNK": "2"},
    )
    try:
        started = time.monotonic()
        while time.monotonic() - started < 60:
            batch.refresh_from_db()
            if batch.status == "completed":
                break
            time.sleep(0.3)
    finally:
        stop_celery(processes)
    assert (batch.status, batch.succeeded) == ("completed", 5)
    assert ProcessInstance.objects.filter(pk__in=ids, status="suspended").count() == 5
    assert batches.batch_run_chunk(batch.pk) is False
