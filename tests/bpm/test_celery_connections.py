"""A Celery worker keeps its database connection between tasks, as a web process keeps it
between requests, and replaces it only when it is broken or too old."""

from types import SimpleNamespace

import psycopg
import pytest
from django.db import OperationalError, connection, transaction

from bpm.celery import app, keep_or_close_connections

WORKER_TASK = SimpleNamespace(request=SimpleNamespace(is_eager=False))
EAGER_TASK = SimpleNamespace(request=SimpleNamespace(is_eager=True))


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def test_celery_is_told_not_to_close_connections_around_every_task():
    assert app.conf.get("db_reuse_max") >= 100


@pytest.mark.django_db(transaction=True)
def test_a_worker_keeps_its_connection_from_one_task_to_the_next():
    """Around each task Celery's Django fix-up runs, then ours: together they keep it open."""
    from celery.fixups.django import DjangoWorkerFixup

    fixup = DjangoWorkerFixup(app)
    connection.close()  # a fresh one: a connection the session opened earlier may be older than CONN_MAX_AGE
    pid = _backend_pid()
    for _task in range(3):
        fixup.on_task_prerun(sender=WORKER_TASK)
        keep_or_close_connections(sender=WORKER_TASK)
        _backend_pid()  # the task's work
        fixup.on_task_postrun(sender=WORKER_TASK)
        keep_or_close_connections(sender=WORKER_TASK)

    assert _backend_pid() == pid


@pytest.mark.django_db(transaction=True)
def test_a_connection_the_database_dropped_is_replaced_before_the_next_task():
    pid = _backend_pid()
    params = connection.get_connection_params()
    with psycopg.connect(
        **{k: v for k, v in params.items() if k in ("host", "port", "user", "dbname", "password")}
    ) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])
    with pytest.raises(OperationalError):
        _backend_pid()

    keep_or_close_connections(sender=WORKER_TASK)

    assert _backend_pid() != pid


@pytest.mark.django_db
def test_an_eager_task_leaves_its_callers_transaction_alone():
    with transaction.atomic():
        pid = _backend_pid()
        keep_or_close_connections(sender=EAGER_TASK)
        assert _backend_pid() == pid
        assert connection.in_atomic_block
