"""Migrating running instances between versions: plans, the report per instance, and what an
instance keeps (its task rows, assignee, variables, history, jobs)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from processes import services
from processes.exceptions import MigrationInvalid
from processes.models import HistoryEvent, Job, ProcessInstance, WaitingStep
from tasks.models import HumanTask

from .factories import bpmn, chain, deploy_one

pytestmark = pytest.mark.django_db

REVIEW = '<bpmn:userTask id="review" camunda:assignee="ann"/>'
TIMER = (
    '<bpmn:boundaryEvent id="late" attachedToRef="review"><bpmn:timerEventDefinition>'
    "<bpmn:timeDuration>P3D</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent>"
    '<bpmn:endEvent id="timedOut"/><bpmn:sequenceFlow id="tf" sourceRef="late" targetRef="timedOut"/>'
)
V1 = bpmn("order", chain(REVIEW))
V2 = bpmn("order", chain(REVIEW, '<bpmn:userTask id="ship"/>'))


def versions(first: bytes, second: bytes):
    return deploy_one(first, "order.bpmn"), deploy_one(second, "order.bpmn")


def test_a_generated_plan_maps_the_elements_both_versions_share():
    v1, v2 = versions(V1, V2)
    plan = services.migration_plan_generate(source=v1, target=v2)
    assert {(i.source, i.target) for i in plan.instructions} == {
        ("start", "start"),
        ("review", "review"),
        ("end", "end"),
    }
    assert services.migration_plan_problems(plan) == []


def test_a_plan_naming_an_unknown_element_or_another_kind_is_refused():
    v1, v2 = versions(V1, bpmn("order", chain('<bpmn:manualTask id="review"/>')))
    plan = services.migration_plan_generate(source=v1, target=v2)
    plan.instructions.append(services.migration.migration.Instruction("review", "review"))
    plan.instructions.append(services.migration.migration.Instruction("nowhere", "review"))
    messages = [p["message"] for p in services.migration_plan_problems(plan)]
    assert "'review' is a userTask, its target 'review' a manualTask" in messages
    assert "'nowhere' is not an element of the source version" in messages


def test_a_migrated_instance_goes_on_in_the_target_with_the_same_task_row(django_user_model):
    django_user_model.objects.create_user("ann")
    v1, v2 = versions(V1, V2)
    instance = services.instance_start(definition=v1, variables={"amount": 5})
    task = HumanTask.objects.get(instance=instance)
    plan = services.migration_plan_generate(source=v1, target=v2)
    assert services.migration_execute(plan=plan, instance_ids=[instance.pk]) == 1
    instance.refresh_from_db()
    assert instance.definition_id == v2.pk and instance.variables == {"amount": 5}
    moved = HumanTask.objects.get(instance=instance)
    assert moved.pk == task.pk and moved.assignee.username == "ann" and moved.definition_id == v2.pk
    services.instance_complete_step(instance_id=instance.pk, spiff_task_id=str(task.spiff_task_id))
    assert list(WaitingStep.objects.filter(instance=instance).values_list("element_id", flat=True)) == ["ship"]
    assert HistoryEvent.objects.filter(instance=instance, kind="instance_migrated").count() == 1


def test_an_explicit_instruction_moves_a_task_to_a_renamed_element():
    v1, v2 = versions(V1, bpmn("order", chain('<bpmn:userTask id="check"/>')))
    instance = services.instance_start(definition=v1)
    plan = services.migration_plan_generate(source=v1, target=v2)
    plan.instructions.append(services.migration.migration.Instruction("review", "check"))
    services.migration_execute(plan=plan, instance_ids=[instance.pk])
    assert HumanTask.objects.get(instance=instance).element_id == "check"
    assert WaitingStep.objects.get(instance=instance).element_id == "check"


def test_an_instance_at_an_element_the_plan_does_not_map_is_reported_and_not_moved():
    v1, v2 = versions(V1, bpmn("order", chain('<bpmn:userTask id="check"/>')))
    instance = services.instance_start(definition=v1)
    plan = services.migration_plan_generate(source=v1, target=v2)
    report = services.migration_validate(plan=plan, instance_ids=[instance.pk])
    assert report["instances"][str(instance.pk)] == [
        {"element_id": "review", "message": "the instance waits at 'review', which the plan does not map"}
    ]
    with pytest.raises(MigrationInvalid):
        services.migration_execute(plan=plan, instance_ids=[instance.pk])
    instance.refresh_from_db()
    assert instance.definition_id == v1.pk


def test_one_instance_that_cannot_move_keeps_all_of_them_where_they_were():
    v1, v2 = versions(bpmn("order", chain(REVIEW, '<bpmn:userTask id="pack"/>')), V2)
    at_review = services.instance_start(definition=v1)
    at_pack = services.instance_start(definition=v1)
    task = HumanTask.objects.get(instance=at_pack)
    services.instance_complete_step(instance_id=at_pack.pk, spiff_task_id=str(task.spiff_task_id))
    plan = services.migration_plan_generate(source=v1, target=v2)
    with pytest.raises(MigrationInvalid) as refused:
        services.migration_execute(plan=plan, instance_ids=[at_review.pk, at_pack.pk])
    assert list(refused.value.details["instances"]) == [str(at_pack.pk)]
    assert ProcessInstance.objects.filter(definition=v1).count() == 2


def test_a_boundary_timer_added_by_the_target_starts_waiting():
    v1, v2 = versions(V1, bpmn("order", chain(REVIEW) + TIMER))
    instance = services.instance_start(definition=v1)
    services.migration_execute(plan=services.migration_plan_generate(source=v1, target=v2), instance_ids=[instance.pk])
    job = Job.objects.get(instance=instance)
    assert job.element_id == "late" and job.due_at > timezone.now() + timedelta(days=2)
    assert WaitingStep.objects.filter(instance=instance, kind="timer").count() == 1


def test_a_waiting_timer_keeps_its_due_date_unless_asked_to_update_it():
    v1, v2 = versions(bpmn("order", chain(REVIEW) + TIMER), bpmn("order", chain(REVIEW) + TIMER.replace("P3D", "P9D")))
    kept, renewed = services.instance_start(definition=v1), services.instance_start(definition=v1)
    due = Job.objects.get(instance=kept).due_at
    services.migration_execute(plan=services.migration_plan_generate(source=v1, target=v2), instance_ids=[kept.pk])
    assert Job.objects.get(instance=kept).due_at == due
    plan = services.migration_plan_generate(source=v1, target=v2, update_event_triggers=True)
    services.migration_execute(plan=plan, instance_ids=[renewed.pk])
    assert Job.objects.get(instance=renewed).due_at > timezone.now() + timedelta(days=8)


def test_a_waiting_boundary_event_without_counterpart_is_reported_as_lost():
    v1, v2 = versions(bpmn("order", chain(REVIEW) + TIMER), V1)
    instance = services.instance_start(definition=v1)
    report = services.migration_validate(
        plan=services.migration_plan_generate(source=v1, target=v2), instance_ids=[instance.pk]
    )
    assert report["instances"][str(instance.pk)] == [
        {
            "element_id": "late",
            "message": "boundary event 'late' of 'review' waits and has no counterpart: it would be lost",
        }
    ]


MESSAGE = '<bpmn:receiveTask id="wait" messageRef="m"/>'


def test_a_changed_message_needs_update_event_trigger_and_then_waits_for_the_new_one():
    v1 = deploy_one(bpmn("order", chain(MESSAGE), extra='<bpmn:message id="m" name="paid"/>'), "order.bpmn")
    v2 = deploy_one(bpmn("order", chain(MESSAGE), extra='<bpmn:message id="m" name="settled"/>'), "order.bpmn")
    instance = services.instance_start(definition=v1)
    plan = services.migration_plan_generate(source=v1, target=v2)
    problems = services.migration_validate(plan=plan, instance_ids=[instance.pk])["instances"][str(instance.pk)]
    assert "changes from 'paid' to 'settled'" in problems[0]["message"]
    plan = services.migration_plan_generate(source=v1, target=v2, update_event_triggers=True)
    services.migration_execute(plan=plan, instance_ids=[instance.pk])
    assert WaitingStep.objects.get(instance=instance).event_name == "settled"
    services.message_correlate(message_name="settled")
    instance.refresh_from_db()
    assert instance.status == "completed"


SUB = (
    '<bpmn:subProcess id="sub"><bpmn:startEvent id="s1"/>{inner}<bpmn:endEvent id="s2"/>'
    '<bpmn:sequenceFlow id="g1" sourceRef="s1" targetRef="inner"/><bpmn:sequenceFlow id="g2" sourceRef="inner" targetRef="s2"/>'
    "</bpmn:subProcess>"
)


def test_a_task_inside_an_embedded_subprocess_moves_with_it():
    v1 = deploy_one(bpmn("order", chain(SUB.format(inner='<bpmn:userTask id="inner"/>'))), "order.bpmn")
    v2 = deploy_one(
        bpmn(
            "order",
            chain(SUB.format(inner='<bpmn:userTask id="inner" name="Inner v2"/>'), '<bpmn:userTask id="after"/>'),
        ),
        "order.bpmn",
    )
    instance = services.instance_start(definition=v1)
    services.migration_execute(plan=services.migration_plan_generate(source=v1, target=v2), instance_ids=[instance.pk])
    task = HumanTask.objects.get(instance=instance)
    services.instance_complete_step(instance_id=instance.pk, spiff_task_id=str(task.spiff_task_id))
    assert list(WaitingStep.objects.filter(instance=instance).values_list("element_id", flat=True)) == ["after"]


LOOP = '<bpmn:userTask id="vote"><bpmn:multiInstanceLoopCharacteristics {seq} camunda:collection="voters" camunda:elementVariable="voter"/></bpmn:userTask>'


def test_a_running_multi_instance_keeps_its_instances():
    v1 = deploy_one(bpmn("order", chain(LOOP.format(seq=""))), "order.bpmn")
    v2 = deploy_one(bpmn("order", chain(LOOP.format(seq=""), '<bpmn:userTask id="after"/>')), "order.bpmn")
    instance = services.instance_start(definition=v1, variables={"voters": ["a", "b"]})
    services.migration_execute(plan=services.migration_plan_generate(source=v1, target=v2), instance_ids=[instance.pk])
    for task in HumanTask.objects.filter(instance=instance):
        services.instance_complete_step(instance_id=instance.pk, spiff_task_id=str(task.spiff_task_id))
    assert list(WaitingStep.objects.filter(instance=instance).values_list("element_id", flat=True)) == ["after"]


def test_a_multi_instance_that_becomes_sequential_is_refused_by_the_plan():
    v1 = deploy_one(bpmn("order", chain(LOOP.format(seq=""))), "order.bpmn")
    v2 = deploy_one(bpmn("order", chain(LOOP.format(seq='isSequential="true"'))), "order.bpmn")
    plan = services.migration_plan_generate(source=v1, target=v2)
    plan.instructions.append(services.migration.migration.Instruction("vote", "vote"))
    assert {"element_id": "vote", "message": "the multi-instance of 'vote' changes (parallel to sequential)"} in (
        services.migration_plan_problems(plan)
    )


CALLED = bpmn("called", chain('<bpmn:userTask id="work"/>'))


def test_a_running_call_keeps_the_version_its_call_started():
    called_v1 = deploy_one(CALLED, "called.bpmn")
    v1 = deploy_one(bpmn("order", chain('<bpmn:callActivity id="call" calledElement="called"/>')), "order.bpmn")
    v2 = deploy_one(
        bpmn("order", chain('<bpmn:callActivity id="call" calledElement="called"/>', '<bpmn:userTask id="after"/>')),
        "order.bpmn",
    )
    instance = services.instance_start(definition=v1)
    deploy_one(bpmn("called", chain('<bpmn:userTask id="other"/>')), "called.bpmn")  # a newer called version
    services.migration_execute(plan=services.migration_plan_generate(source=v1, target=v2), instance_ids=[instance.pk])
    task = HumanTask.objects.get(instance=instance)
    assert task.element_id == "work" and called_v1.key == "called"
    services.instance_complete_step(instance_id=instance.pk, spiff_task_id=str(task.spiff_task_id))
    assert list(WaitingStep.objects.filter(instance=instance).values_list("element_id", flat=True)) == ["after"]


def test_a_migrated_instance_survives_a_reload_with_a_fresh_spec_cache():
    from processes.engine import runtime

    v1, v2 = versions(V1, V2)
    instance = services.instance_start(definition=v1)
    services.migration_execute(plan=services.migration_plan_generate(source=v1, target=v2), instance_ids=[instance.pk])
    runtime.SPEC_CACHE.clear()
    step = WaitingStep.objects.get(instance=instance)
    services.instance_complete_step(instance_id=instance.pk, spiff_task_id=str(step.spiff_task_id))
    assert list(WaitingStep.objects.filter(instance=instance).values_list("element_id", flat=True)) == ["ship"]


def test_assignments_are_resolved_again_only_when_asked(django_user_model):
    for name in ("ann", "bob"):
        django_user_model.objects.create_user(name)
    v1, v2 = versions(V1, bpmn("order", chain(REVIEW.replace("ann", "bob"))))
    kept, renewed = services.instance_start(definition=v1), services.instance_start(definition=v1)
    plan = services.migration_plan_generate(source=v1, target=v2)
    services.migration_execute(plan=plan, instance_ids=[kept.pk])
    services.migration_execute(plan=plan, instance_ids=[renewed.pk], reevaluate_assignments=True)
    assert HumanTask.objects.get(instance=kept).assignee.username == "ann"
    assert HumanTask.objects.get(instance=renewed).assignee.username == "bob"
