"""Tasks appear with the assignment Camunda Modeler writes: literals, expressions, lanes."""

import pytest

from tasks.models import HumanTask

from .factories import open_task, start, task_process, user

pytestmark = pytest.mark.django_db


def test_an_assignee_expression_assigns_the_task_to_the_user_it_names():
    manager = user("mia")
    instance = start(task_process('<bpmn:userTask id="t" camunda:assignee="${manager}"/>'), manager="mia")
    task = open_task(instance)
    assert task.assignee == manager and task.claimed_at is not None


def test_the_initiator_expression_assigns_the_task_to_whoever_started_it():
    starter = user("sam")
    instance = start(task_process('<bpmn:userTask id="t" camunda:assignee="${initiator}"/>'), user=starter)
    assert open_task(instance).assignee == starter


def test_literal_candidate_users_and_groups_become_candidates():
    user("ann")
    user("bob")
    instance = start(
        task_process('<bpmn:userTask id="t" camunda:candidateUsers="ann, bob" camunda:candidateGroups="finance"/>')
    )
    task = open_task(instance)
    assert sorted(c.user.username for c in task.candidates.filter(user__isnull=False)) == ["ann", "bob"]
    assert [c.group_name for c in task.candidates.filter(user__isnull=True)] == ["finance"]
    assert task.assignee is None


def test_a_candidate_groups_expression_may_return_a_list():
    instance = start(
        task_process('<bpmn:userTask id="t" camunda:candidateGroups="${groups}"/>'), groups=["hr", "legal"]
    )
    assert sorted(open_task(instance).candidates.values_list("group_name", flat=True)) == ["hr", "legal"]


def test_a_lane_becomes_the_candidate_group_when_the_task_names_none():
    body = '<bpmn:laneSet id="ls"><bpmn:lane id="l" name="Accounting"><bpmn:flowNodeRef>t</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>'
    from tests.processes.factories import bpmn, chain

    instance = start(bpmn("laned", body + chain('<bpmn:userTask id="t"/>')))
    assert list(open_task(instance).candidates.values_list("group_name", flat=True)) == ["Accounting"]


def test_due_date_follow_up_and_priority_are_read_and_evaluated():
    xml = '<bpmn:userTask id="t" camunda:dueDate="${due}" camunda:followUpDate="P1D" camunda:priority="${prio}"/>'
    instance = start(task_process(xml), due="2026-12-01T09:00:00Z", prio=80)
    task = open_task(instance)
    assert task.due_at.isoformat() == "2026-12-01T09:00:00+00:00"
    assert task.follow_up_at is not None and task.priority == 80


def test_documentation_becomes_instructions_with_variables_filled_in():
    xml = '<bpmn:userTask id="t"><bpmn:documentation>Check invoice ${number}.</bpmn:documentation></bpmn:userTask>'
    assert open_task(start(task_process(xml), number=42)).instructions == "Check invoice 42."


def test_an_assignee_expression_over_a_missing_variable_leaves_the_task_unassigned():
    instance = start(task_process('<bpmn:userTask id="t" camunda:assignee="${nobody_set_this}"/>'))
    task = open_task(instance)
    assert task.assignee is None and task.status == "open"


def test_a_manual_task_gets_a_task_too():
    instance = start(task_process('<bpmn:manualTask id="m" name="Sign the paper"/>'))
    task = open_task(instance)
    assert (task.kind, task.name) == ("manual", "Sign the paper")


def test_a_task_closes_as_cancelled_when_its_instance_is_cancelled():
    from processes import services

    instance = start(task_process('<bpmn:userTask id="t"/>'))
    services.instance_cancel(instance_id=instance.pk)
    assert HumanTask.objects.get(instance=instance).status == "cancelled"
