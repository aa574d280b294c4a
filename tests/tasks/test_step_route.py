"""The instance API's step route finds the task and checks who may see it in one read."""

import pytest
from django.contrib.auth import get_user_model

from processes import services
from tasks.exceptions import TaskNotFound
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
    task = task_complete_step(instance_id=instance.pk, spiff_task_id=step, user=payer)
    assert (task.status, task.assignee_id) == ("completed", payer.pk)
