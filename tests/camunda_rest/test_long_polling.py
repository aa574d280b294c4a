"""Long polling of fetchAndLock: a waiting worker is answered when work arrives, and one new
task wakes one worker that takes any task of its topic (not a herd of fetches)."""

import threading
import time

import pytest
from rest_framework.test import APIClient

from camunda_rest import longpoll
from processes import services

from ..processes.factories import deploy_one
from .diagrams import CHARGE

REST = "/engine-rest"


@pytest.fixture
def listeners():
    opened = []

    def listen(topics: dict[str, bool]) -> longpoll.Listener:
        listener = longpoll.Listener(topics)
        opened.append(listener)
        return listener

    yield listen
    for listener in opened:
        listener.close()


def test_one_new_task_wakes_the_longest_waiting_worker_and_every_filtered_one(listeners):
    first, second = listeners({"charge": True}), listeners({"charge": True})
    filtered = listeners({"charge": False})
    longpoll._wake(["charge"])
    assert (first.event.is_set(), second.event.is_set(), filtered.event.is_set()) == (True, False, True)


def test_as_many_workers_wake_as_tasks_arrived(listeners):
    waiting = [listeners({"charge": True}) for _ in range(3)]
    longpoll._wake(["charge", "charge"])
    assert [w.event.is_set() for w in waiting] == [True, True, False]


def test_a_worker_that_leaves_with_its_wake_unused_passes_it_on(listeners):
    leaving, staying = listeners({"charge": True}), listeners({"charge": True})
    longpoll._wake(["charge"])
    assert not staying.event.is_set()
    leaving.close()
    assert staying.event.is_set()


@pytest.mark.django_db(transaction=True)
def test_a_waiting_fetch_is_answered_when_a_task_is_created_not_at_its_recheck(admin_user, settings):
    settings.BPM = {**settings.BPM, "LONG_POLL_RECHECK_SECONDS": 60.0}
    definition = deploy_one(CHARGE)
    client = APIClient()
    client.force_authenticate(admin_user)
    answer = {}

    def worker():
        body = {
            "workerId": "w1",
            "maxTasks": 1,
            "asyncResponseTimeout": 30000,
            "topics": [{"topicName": "charge-card", "lockDuration": 10000}],
        }
        began = time.monotonic()
        answer["tasks"] = client.post(f"{REST}/external-task/fetchAndLock", body, format="json").json()
        answer["seconds"] = time.monotonic() - began

    thread = threading.Thread(target=worker)
    thread.start()
    deadline = time.monotonic() + 10
    while longpoll.waiting_count() == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    instance = services.instance_start(definition=definition, variables={"amount": 5, "priority": 1})
    thread.join(timeout=30)
    assert [t["processInstanceId"] for t in answer["tasks"]] == [str(instance.pk)]
    assert answer["seconds"] < 10  # woken by the new task, not by the recheck (60 s) or the timeout (30 s)
