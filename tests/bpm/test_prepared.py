"""Hot statements bound on the server and prepared per connection (bpm/prepared.py)."""

import pytest
from django.db import connection, transaction

from bpm import prepared, writes
from processes import services
from processes.models import HistoryEvent
from tests.processes.factories import bpmn, chain, deploy_one

pytestmark = pytest.mark.django_db


def test_django_placeholders_become_numbered_ones_and_a_double_percent_a_single_one():
    assert prepared.numbered("SELECT %s, '50%%', %s") == "SELECT $1, '50%', $2"


def test_a_prepared_statement_is_logged_with_its_text():
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        prepared.fetchone("SELECT %s::int", [7])
    assert [q["sql"] for q in captured.captured_queries] == ["SELECT $1::int"]


def test_a_statement_the_connection_runs_again_is_prepared_once():
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")
    for _ in range(3):
        assert prepared.fetchone("SELECT %s::int + 1", [41]) == (42,)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE statement = 'SELECT $1::int + 1'")
        assert cursor.fetchone() == (1,)


def test_a_command_s_writes_are_prepared_once_their_shape_repeats():
    definition = deploy_one(bpmn("p", chain('<bpmn:userTask id="t"/>')))
    for _ in range(4):  # the first also reads the configuration it then caches: another shape
        services.instance_start(definition=definition)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE 'WITH c0 AS (INSERT%%'")
        assert cursor.fetchone()[0] == 1


def test_the_lock_reads_the_instance_as_the_orm_does():
    definition = deploy_one(bpmn("p", chain('<bpmn:userTask id="t"/>')))
    started = services.instance_start(definition=definition, variables={"amount": 3}, business_key="K-1")
    with transaction.atomic():
        locked = services.lock_instance(started.pk)
    fresh = type(started).objects.get(pk=started.pk)
    for f in type(started)._meta.concrete_fields:
        assert getattr(locked, f.attname) == getattr(fresh, f.attname), f.name
    assert locked.variables == {"amount": 3}
    assert locked._state.adding is False


def test_history_written_through_prepared_statements_reads_back_unchanged():
    definition = deploy_one(bpmn("p", chain('<bpmn:userTask id="t"/>')))
    instance = services.instance_start(definition=definition)
    with transaction.atomic(), writes.deferred():
        writes.insert(
            [HistoryEvent(instance=instance, definition_id=definition.pk, kind="note", data={"a": [1, "ü", None]})]
        )
    assert HistoryEvent.objects.get(kind="note").data == {"a": [1, "ü", None]}


def test_an_empty_prepare_threshold_turns_preparing_off_for_pgbouncer():
    import os
    import subprocess
    import sys

    script = "import django; django.setup(); from django.conf import settings; print(settings.DATABASES['default']['OPTIONS'])"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bpm.settings", "DATABASE_PREPARE_THRESHOLD": ""}
    shown = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True).stdout
    assert "'prepare_threshold': None" in shown


@pytest.mark.django_db(transaction=True)
def test_a_failing_prepared_statement_raises_django_s_error_and_the_connection_goes_on():
    from django.db import DataError

    with pytest.raises(DataError), transaction.atomic():
        prepared.fetchone("SELECT 1 / %s::int", [0])
    with transaction.atomic():
        assert prepared.fetchone("SELECT %s::int", [3]) == (3,)
