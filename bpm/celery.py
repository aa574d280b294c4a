"""The Celery application; configuration comes from Django settings (CELERY_*)."""

import os

from celery import Celery
from celery.signals import task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bpm.settings")

app = Celery("bpm")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
@task_postrun.connect
def keep_or_close_connections(sender=None, **_kwargs) -> None:
    """Around each task, close a database connection only when it is broken or older than
    CONN_MAX_AGE, as Django does around each request. (Celery's fixup would open a new one
    per task: a timer tick, a job, a notification each paid for a connection.) Not for an
    eager task: it runs inside its caller's transaction."""
    request = getattr(sender, "request", None)
    if request is not None and getattr(request, "is_eager", False):
        return
    from django.db import close_old_connections

    close_old_connections()
