"""Job leases (issue 14.3): short leases renewed while a worker runs the job, so a job held by
a worker that died is taken again a few seconds later, and a slow job is never taken twice."""

import threading
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from processes import jobs, services
from processes.models import Job
from tests.jobs.test_service_tasks import Receiver, quote_process
from tests.jobs.test_timers import WAIT
from tests.processes.factories import deploy_one

pytestmark = pytest.mark.django_db


def test_a_timer_held_by_a_dead_worker_is_taken_again_once_its_short_lease_lapses(settings):
    instance = services.instance_start(definition=deploy_one(WAIT))
    lease = settings.BPM["JOB_LOCK_SECONDS"]
    assert lease <= 5
    due = timezone.now() + timedelta(seconds=5)
    dead_token, ids = jobs.jobs_acquire(now=due)  # dispatched to a worker that dies
    assert jobs.jobs_acquire(now=due + timedelta(seconds=lease - 1))[1] == []
    token, again = jobs.jobs_acquire(now=due + timedelta(seconds=lease + 1))
    assert again == ids
    assert jobs.job_execute(job_id=ids[0], token=dead_token) == "skipped"
    assert jobs.job_execute(job_id=ids[0], token=token) == "done"
    instance.refresh_from_db()
    assert instance.status == "completed"


@pytest.mark.django_db(transaction=True)
def test_a_service_job_slower_than_its_lease_keeps_it_and_calls_once(settings):
    settings.BPM = {**settings.BPM, "JOB_LOCK_SECONDS": 1}
    server = Receiver()
    server.delay = 2.5
    try:
        instance = services.instance_start(
            definition=deploy_one(quote_process(server.url)), variables={"item": "desk", "order": "A-1"}
        )
        token, ids = jobs.jobs_acquire()
        worker = threading.Thread(target=jobs.job_execute, kwargs={"job_id": ids[0], "token": token})
        worker.start()
        time.sleep(1.8)  # past the lease: only the worker's heartbeat keeps the job
        assert jobs.jobs_acquire()[1] == []
        worker.join()
    finally:
        server.close()
    instance.refresh_from_db()
    assert instance.status == "completed" and len(server.calls) == 1
    assert Job.objects.get(pk=ids[0]).status == "done"
