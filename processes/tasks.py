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


BATCH_BUDGET_SECONDS = 20.0  # then the batch goes back to the queue, behind other work


@shared_task(name="processes.batch_run", ignore_result=True, acks_late=True)
def batch_run(batch_id: int) -> int:
    """Run a batch's chunks for a while; hand the rest to the next worker."""
    import time

    from .services import batches

    began, chunks = time.monotonic(), 0
    while batches.batch_run_chunk(batch_id):
        chunks += 1
        if time.monotonic() - began > BATCH_BUDGET_SECONDS:
            batch_run.delay(batch_id)
            break
    return chunks


@shared_task(name="processes.batches_resume", ignore_result=True)
def batches_resume() -> int:
    from .services import batches

    return batches.batches_resume_stalled()
