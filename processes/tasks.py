"""Celery entry points: beat ticks, workers run jobs. They pass ids, never objects."""

from celery import shared_task

from . import jobs


@shared_task(name="processes.tick", ignore_result=True)
def tick() -> int:
    """Take due jobs (row locks with SKIP LOCKED) and hand each to a worker."""
    for every, action in jobs.PERIODIC:  # registered by the apps: the health heartbeat runs on every tick
        if every == 0:
            action()
    token, ids = jobs.jobs_acquire()
    for job_id in ids:
        run_job.delay(job_id, token)
    return len(ids)


@shared_task(name="processes.run_job", ignore_result=True, acks_late=True)
def run_job(job_id: int, token: str) -> str:
    return jobs.job_execute(job_id=job_id, token=token)


@shared_task(name="processes.history_cleanup", ignore_result=True)
def history_cleanup() -> int:
    """History retention, inside BPM_HISTORY_CLEANUP_WINDOW (beat asks every few minutes)."""
    from .services import retention

    result = retention.history_cleanup_in_window()
    return result.instances if result else 0
