"""The write buffer (bpm/writes.py): one statement for a command's writes, nothing else changed."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bpm import writes
from processes import services
from processes.models import HistoryEvent, Incident, Job, JobKind, ProcessInstance
from tests.processes.factories import bpmn, chain, deploy_one

pytestmark = pytest.mark.django_db


@pytest.fixture
def instance():
    definition = deploy_one(bpmn("w", chain('<bpmn:userTask id="t"/>')))
    return services.instance_start(definition=definition)


def _history(instance, kind="note"):
    return HistoryEvent(instance=instance, definition_id=instance.definition_id, kind=kind)


def _job(instance):
    return Job(instance=instance, kind=JobKind.TIMER, spiff_task_id=None, element_id="x", due_at=timezone.now())


def _sent(captured) -> list[str]:
    return [q["sql"] for q in captured.captured_queries if q["sql"] not in ("BEGIN", "COMMIT")]


def test_writes_in_the_scope_go_out_as_one_statement(instance):
    with transaction.atomic(), CaptureQueriesContext(connection) as captured, writes.deferred():
        writes.insert([_history(instance), _history(instance)])
        writes.update(ProcessInstance.objects.filter(pk=instance.pk), business_key="B-1")
        writes.delete(Job.objects.filter(instance=instance))
    assert len(_sent(captured)) == 1
    assert ProcessInstance.objects.get(pk=instance.pk).business_key == "B-1"


def test_new_rows_get_their_keys_when_sent(instance):
    rows = [_history(instance), _history(instance)]
    with transaction.atomic(), writes.deferred():
        writes.insert(rows)
        assert rows[0].pk is None
    assert [r.pk for r in rows] == sorted(HistoryEvent.objects.filter(kind="note").values_list("pk", flat=True))
    assert not rows[0]._state.adding


def test_a_row_may_point_at_a_row_inserted_in_the_same_statement(instance):
    job = _job(instance)
    incident = Incident(instance=instance, job=job, element_id="x", message="boom")
    with transaction.atomic(), CaptureQueriesContext(connection) as captured, writes.deferred():
        writes.insert([job])
        writes.insert([incident])
    assert len(_sent(captured)) == 1
    assert Incident.objects.get(pk=incident.pk).job_id == job.pk == incident.job_id


def test_a_read_in_the_scope_sees_the_writes_before_it(instance):
    with transaction.atomic(), writes.deferred():
        writes.insert([_history(instance)])
        assert HistoryEvent.objects.filter(kind="note").count() == 1


def test_a_second_change_to_a_changed_table_goes_in_a_later_statement(instance):
    with transaction.atomic(), CaptureQueriesContext(connection) as captured, writes.deferred():
        writes.update(ProcessInstance.objects.filter(pk=instance.pk), business_key="first")
        writes.update(ProcessInstance.objects.filter(pk=instance.pk, business_key="first"), business_key="second")
    assert len(_sent(captured)) == 2
    assert ProcessInstance.objects.get(pk=instance.pk).business_key == "second"


def test_a_delete_takes_what_cascades_from_it_along(instance):
    job = Job.objects.create(instance=instance, kind=JobKind.TIMER, element_id="x", due_at=timezone.now())
    Incident.objects.create(instance=instance, job=job, element_id="x", message="boom")
    with transaction.atomic(), writes.deferred():
        writes.delete(Job.objects.filter(pk=job.pk))
    assert not Job.objects.filter(pk=job.pk).exists()
    assert not Incident.objects.filter(job_id=job.pk).exists()


def test_rolling_back_to_a_savepoint_drops_what_was_buffered_after_it(instance):
    with transaction.atomic(), writes.deferred():
        writes.insert([_history(instance, "kept")])
        try:
            with transaction.atomic():
                writes.insert([_history(instance, "dropped")])
                raise RuntimeError("undo")
        except RuntimeError:
            pass
    assert list(HistoryEvent.objects.filter(kind__in=["kept", "dropped"]).values_list("kind", flat=True)) == ["kept"]


def test_an_error_in_the_scope_writes_nothing(instance):
    with pytest.raises(RuntimeError), transaction.atomic(), writes.deferred():
        writes.insert([_history(instance)])
        raise RuntimeError("fails")
    assert not HistoryEvent.objects.filter(kind="note").exists()


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_a_write_goes_out_at_once(instance):
    row = _history(instance)
    with writes.deferred():
        writes.insert([row])
        assert row.pk is not None  # buffered, it would have no key yet
    assert HistoryEvent.objects.filter(pk=row.pk).exists()


def test_a_foreign_key_to_an_unsaved_row_outside_the_buffer_is_refused(instance):
    with pytest.raises(ValueError, match="unsaved related object"), transaction.atomic(), writes.deferred():
        writes.insert([Incident(instance=instance, job=_job(instance), element_id="x", message="m")])


def _waiting(instance, spiff_task_id, element_id):
    from processes.models import WaitingStep

    return WaitingStep.objects.create(
        instance=instance, spiff_task_id=spiff_task_id, element_id=element_id, element_type="x", kind="user"
    )


def test_rows_matched_by_pairs_of_values_are_deleted_and_no_others(instance):
    import uuid

    from processes.models import WaitingStep

    a, b = uuid.uuid4(), uuid.uuid4()
    _waiting(instance, a, "one"), _waiting(instance, a, "two"), _waiting(instance, b, "one")
    with transaction.atomic(), CaptureQueriesContext(connection) as captured, writes.deferred():
        writes.delete_rows(WaitingStep, {"instance": instance, ("spiff_task_id", "element_id"): [(a, "one"), (b, "x")]})
    assert len(_sent(captured)) == 1
    left = WaitingStep.objects.filter(instance=instance, element_type="x").values_list("spiff_task_id", "element_id")
    assert sorted(left, key=str) == sorted([(a, "two"), (b, "one")], key=str)


def test_an_update_of_matched_rows_changes_only_those(instance):
    other = services.instance_start(definition=instance.definition)
    with transaction.atomic(), writes.deferred():
        writes.update_rows(ProcessInstance, {"pk__in": [other.pk], "status": "running"}, business_key="B-9")
    assert ProcessInstance.objects.get(pk=other.pk).business_key == "B-9"
    assert ProcessInstance.objects.get(pk=instance.pk).business_key == ""


@pytest.mark.django_db(transaction=True)
def test_matched_rows_outside_a_transaction_change_through_the_orm(instance):
    writes.update_rows(ProcessInstance, {"pk": instance.pk, "ended_at": None}, business_key="B-2")
    writes.delete_rows(Job, {"instance": instance, ("spiff_task_id", "element_id"): []})
    assert ProcessInstance.objects.get(pk=instance.pk).business_key == "B-2"


def test_an_empty_list_of_values_matches_nothing(instance):
    with transaction.atomic(), writes.deferred():
        writes.update_rows(ProcessInstance, {"pk__in": []}, business_key="never")
    assert not ProcessInstance.objects.filter(business_key="never").exists()
