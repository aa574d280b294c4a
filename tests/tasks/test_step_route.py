"""The instance API's step route finds the task and checks who may see it in one read."""

import pytest
from django.contrib.auth import get_user_model

from processes import services
from tasks.exceptions import TaskNotFound, TaskNotOpen
from tasks.models import HumanTask
from tasks.services import task_complete_step
from tests.processes.factories import bpmn, chain, deploy_one

pytestmark = pytest.mark.django_db

GUARDED = bpmn("guarded", chain('<bpmn:userTask id="pay" camunda:candidateGroups="finance"/>'))


def _started():
    instance = services.instance_start(definition=deploy_one(GUARDED))
    return instance, str(instance.waiting_steps.all()[0].spiff_task_id)


def test_a_step_whose_task_the_user_may_not_see_is_not_found_and_stays_open():
    instance, step = _started()
    outsider = get_user_model().objects.create_user("outsider")
    with pytest.raises(TaskNotFound):
        task_complete_step(instance_id=instance.pk, spiff_task_id=step, user=outsider)
    assert HumanTask.objects.get(instance=instance).status == "open"


def test_a_step_of_a_candidate_is_claimed_and_completed():
    from django.contrib.auth.models import Group

    payer = get_user_model().objects.create_user("payer")
    payer.groups.add(Group.objects.create(name="finance"))
    instance, step = _started()
    answered = task_complete_step(instance_id=instance.pk, spiff_task_id=step, user=payer)
    task = HumanTask.objects.get(instance=instance)
    assert (task.status, task.assignee_id, answered.status) == ("completed", payer.pk, "completed")


def test_a_step_with_no_task_is_left_to_the_instance_services():
    instance, step = _started()
    HumanTask.objects.filter(instance=instance).delete()
    outsider = get_user_model().objects.create_user("outsider")
    assert task_complete_step(instance_id=instance.pk, spiff_task_id=step, user=outsider) is None


def test_a_step_whose_task_was_completed_meanwhile_is_a_conflict():
    instance, step = _started()
    HumanTask.objects.filter(instance=instance).update(status="completed")
    outsider = get_user_model().objects.create_user("outsider")
    with pytest.raises(TaskNotOpen):
        task_complete_step(instance_id=instance.pk, spiff_task_id=step, user=outsider)


def test_the_step_route_answers_with_what_the_instance_now_waits_at():
    from django.contrib.auth.models import Group

    two = bpmn(
        "two_steps",
        chain(
            '<bpmn:userTask id="pay" camunda:candidateGroups="finance"/>',
            '<bpmn:userTask id="file" camunda:candidateGroups="finance"/>',
        ),
    )
    payer = get_user_model().objects.create_user("payer")
    payer.groups.add(Group.objects.create(name="finance"))
    instance = services.instance_start(definition=deploy_one(two))
    step = str(instance.waiting_steps.all()[0].spiff_task_id)
    answered = services.step_complete(instance_id=instance.pk, spiff_task_id=step, user=payer)
    assert [w.element_id for w in answered.waiting_steps.all()] == ["file"]
    assert list(answered.incidents.all()) == [] and answered.started_by_id is None


def test_the_step_route_answer_keeps_the_steps_that_still_wait_beside_the_completed_one():
    from django.contrib.auth.models import Group

    body = (
        '<bpmn:startEvent id="start"/><bpmn:parallelGateway id="split"/>'
        '<bpmn:userTask id="pay" camunda:candidateGroups="finance"/>'
        '<bpmn:userTask id="file" camunda:candidateGroups="finance"/>'
        '<bpmn:parallelGateway id="join"/><bpmn:endEvent id="end"/>'
        '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="split"/>'
        '<bpmn:sequenceFlow id="f2" sourceRef="split" targetRef="pay"/>'
        '<bpmn:sequenceFlow id="f3" sourceRef="split" targetRef="file"/>'
        '<bpmn:sequenceFlow id="f4" sourceRef="pay" targetRef="join"/>'
        '<bpmn:sequenceFlow id="f5" sourceRef="file" targetRef="join"/>'
        '<bpmn:sequenceFlow id="f6" sourceRef="join" targetRef="end"/>'
    )
    payer = get_user_model().objects.create_user("payer")
    payer.groups.add(Group.objects.create(name="finance"))
    instance = services.instance_start(definition=deploy_one(bpmn("both_steps", body)))
    pay = instance.waiting_steps.get(element_id="pay")
    answered = services.step_complete(instance_id=instance.pk, spiff_task_id=str(pay.spiff_task_id), user=payer)
    assert [w.element_id for w in answered.waiting_steps.all()] == ["file"]
