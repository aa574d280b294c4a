"""Batches: one operation over many instances, done in chunks with progress and a failure
per item; cancelled batches stop; a chunk is all or nothing."""

import pytest

from processes import services
from processes.exceptions import BatchNotAllowed, MigrationInvalid
from processes.models import Batch, ProcessInstance
from processes.services import batches

from .factories import bpmn, chain, deploy_one

pytestmark = pytest.mark.django_db
ORDER = bpmn("order", chain('<bpmn:userTask id="review"/>'))


def run_all(batch: Batch, chunk: int = 2) -> Batch:
    while batches.batch_run_chunk(batch.pk, chunk=chunk):
        pass
    batch.refresh_from_db()
    return batch


def started(count: int, definition=None):
    definition = definition or deploy_one(ORDER, "order.bpmn")
    return [services.instance_start(definition=definition) for _ in range(count)]


def test_a_cancel_batch_cancels_every_instance_chunk_by_chunk(admin_user):
    ids = [i.pk for i in started(5)]
    batch = batches.batch_create(kind="cancel", instance_ids=ids, params={"reason": "closed"}, user=admin_user)
    assert batches.batch_run_chunk(batch.pk, chunk=2) is True
    batch.refresh_from_db()
    assert (batch.position, batch.percent) == (2, 40)
    batch = run_all(batch)
    assert (batch.status, batch.succeeded, batch.failed) == ("completed", 5, 0)
    assert set(ProcessInstance.objects.filter(pk__in=ids).values_list("status", flat=True)) == {"cancelled"}


def test_an_item_that_fails_is_recorded_and_the_others_go_on(admin_user):
    first, second, third = started(3)
    services.instance_cancel(instance_id=second.pk)
    batch = run_all(batches.batch_create(kind="suspend", instance_ids=[first.pk, second.pk, third.pk], user=admin_user))
    assert (batch.succeeded, batch.failed) == (2, 1)
    failure = batch.failures.get()
    assert failure.item_id == second.pk and "cancelled" in failure.message


def test_a_cancelled_batch_does_nothing_more(admin_user):
    ids = [i.pk for i in started(4)]
    batch = batches.batch_create(kind="suspend", instance_ids=ids, user=admin_user)
    batches.batch_run_chunk(batch.pk, chunk=2)
    batches.batch_cancel(batch_id=batch.pk)
    assert batches.batch_run_chunk(batch.pk, chunk=2) is False
    assert ProcessInstance.objects.filter(pk__in=ids, status="suspended").count() == 2


def test_a_migration_batch_moves_instances_and_reports_those_it_cannot(admin_user):
    v1 = deploy_one(bpmn("order", chain('<bpmn:userTask id="review"/>', '<bpmn:userTask id="pack"/>')), "order.bpmn")
    v2 = deploy_one(bpmn("order", chain('<bpmn:userTask id="review"/>', '<bpmn:userTask id="ship"/>')), "order.bpmn")
    movable = started(3, v1)
    stuck = services.instance_start(definition=v1)
    task = stuck.waiting_steps.get()
    services.instance_complete_step(instance_id=stuck.pk, spiff_task_id=str(task.spiff_task_id))
    plan = services.migration_plan_generate(source=v1, target=v2)
    batch = batches.batch_create(
        kind="migrate", instance_ids=[i.pk for i in [*movable, stuck]], params={"plan": plan.as_dict()}, user=admin_user
    )
    batch = run_all(batch)
    assert (batch.succeeded, batch.failed) == (3, 1)
    assert batch.failures.get().details["instances"][str(stuck.pk)][0]["element_id"] == "pack"
    assert ProcessInstance.objects.filter(definition=v2).count() == 3


def test_a_migration_batch_with_a_bad_plan_is_refused_when_created(admin_user):
    v1 = deploy_one(ORDER, "order.bpmn")
    v2 = deploy_one(bpmn("order", chain('<bpmn:manualTask id="review"/>')), "order.bpmn")
    plan = services.migration_plan_generate(source=v1, target=v2).as_dict()
    plan["instructions"].append({"source": "review", "target": "review"})
    with pytest.raises(MigrationInvalid):
        batches.batch_create(kind="migrate", instance_ids=[started(1, v1)[0].pk], params={"plan": plan})
    assert not Batch.objects.exists()


def test_set_variables_and_delete_batches(admin_user):
    keep, gone = started(2)
    run_all(
        batches.batch_create(
            kind="set_variables", instance_ids=[keep.pk], params={"variables": {"x": 1}}, user=admin_user
        )
    )
    keep.refresh_from_db()
    assert keep.variables == {"x": 1}
    run_all(batches.batch_create(kind="delete", instance_ids=[gone.pk], user=admin_user))
    assert not ProcessInstance.objects.filter(pk=gone.pk).exists()


def test_instances_the_user_may_not_change_refuse_the_batch():
    ids = [i.pk for i in started(2)]
    with pytest.raises(BatchNotAllowed):
        batches.batch_create(kind="cancel", instance_ids=ids, may_change=lambda selected: selected[:1])


def test_deleting_an_instance_already_gone_counts_as_done(admin_user):
    first, second = started(2)
    batch = batches.batch_create(kind="delete", instance_ids=[first.pk, second.pk], user=admin_user)
    ProcessInstance.objects.filter(pk=first.pk).delete()  # e.g. a chunk done again after a worker died
    batch = run_all(batch)
    assert (batch.succeeded, batch.failed) == (2, 0) and not ProcessInstance.objects.exists()


def test_a_migration_batch_whose_target_was_deleted_ends_with_every_instance_failed(admin_user):
    v1 = deploy_one(ORDER, "order.bpmn")
    v2 = deploy_one(bpmn("order", chain('<bpmn:userTask id="review"/>', '<bpmn:userTask id="ship"/>')), "order.bpmn")
    ids = [i.pk for i in started(3, v1)]
    plan = services.migration_plan_generate(source=v1, target=v2)
    batch = batches.batch_create(kind="migrate", instance_ids=ids, params={"plan": plan.as_dict()}, user=admin_user)
    services.definition_delete(definition=v2)
    batch = run_all(batch)
    assert (batch.status, batch.succeeded, batch.failed) == ("completed", 0, 3)
    assert "was deleted" in batch.failures.first().message
