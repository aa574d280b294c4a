"""Modifying a running instance: cancel activity instances, start before or after activities,
atomically, with the reason in the history."""

import pytest

from processes import services
from processes.exceptions import CommandFailed, ModificationInvalid
from processes.models import HistoryEvent, WaitingStep
from processes.services.modification import Instruction
from tasks.models import HumanTask

from .factories import bpmn, chain, deploy_one

pytestmark = pytest.mark.django_db
ORDER = bpmn("order", chain('<bpmn:userTask id="review"/>', '<bpmn:userTask id="ship"/>'))


def waiting_at(instance) -> list[str]:
    return sorted(WaitingStep.objects.filter(instance=instance).values_list("element_id", flat=True))


def test_a_token_moves_from_one_task_to_another_in_one_command(admin_user):
    instance = services.instance_start(definition=deploy_one(ORDER))
    services.instance_modify(
        instance_id=instance.pk,
        instructions=[Instruction("cancel", "review"), Instruction("start_before", "ship")],
        user=admin_user,
        reason="review done by phone",
    )
    assert waiting_at(instance) == ["ship"]
    assert HumanTask.objects.get(instance=instance, element_id="review").status == "cancelled"
    event = HistoryEvent.objects.get(instance=instance, kind="instance_modified")
    assert event.data["reason"] == "review done by phone" and event.actor == admin_user


def test_start_after_an_activity_starts_what_its_one_outgoing_flow_reaches():
    instance = services.instance_start(definition=deploy_one(ORDER))
    services.instance_modify(instance_id=instance.pk, instructions=[Instruction("start_after", "review")])
    assert waiting_at(instance) == ["review", "ship"]


def test_variables_given_with_a_start_reach_the_new_token():
    instance = services.instance_start(definition=deploy_one(ORDER), variables={"a": 1})
    services.instance_modify(
        instance_id=instance.pk,
        instructions=[Instruction("cancel", "review"), Instruction("start_before", "ship", variables={"b": 2})],
    )
    instance.refresh_from_db()
    assert instance.variables == {"a": 1, "b": 2}


def test_cancelling_the_last_activity_instance_ends_the_instance_as_cancelled():
    instance = services.instance_start(definition=deploy_one(ORDER))
    services.instance_modify(instance_id=instance.pk, instructions=[Instruction("cancel", "review")])
    instance.refresh_from_db()
    assert instance.status == "cancelled" and waiting_at(instance) == []


def test_an_unknown_element_refuses_the_whole_command():
    instance = services.instance_start(definition=deploy_one(ORDER))
    with pytest.raises(ModificationInvalid) as refused:
        services.instance_modify(
            instance_id=instance.pk,
            instructions=[Instruction("cancel", "review"), Instruction("start_before", "nowhere")],
        )
    assert refused.value.details == {"element_id": "nowhere", "instruction": 1}
    assert waiting_at(instance) == ["review"]
    assert HumanTask.objects.get(instance=instance).status == "open"


def test_a_started_step_that_fails_rolls_the_command_back():
    definition = deploy_one(
        bpmn(
            "order",
            chain(
                '<bpmn:userTask id="review"/>',
                '<bpmn:scriptTask id="calc" scriptFormat="python"><bpmn:script>x = 1 / 0</bpmn:script></bpmn:scriptTask>',
            ),
        )
    )
    instance = services.instance_start(definition=definition)
    with pytest.raises(CommandFailed):
        services.instance_modify(
            instance_id=instance.pk, instructions=[Instruction("cancel", "review"), Instruction("start_before", "calc")]
        )
    assert waiting_at(instance) == ["review"]


def test_cancelling_an_activity_cancels_its_waiting_boundary_timer():
    definition = deploy_one(
        bpmn(
            "order",
            chain('<bpmn:userTask id="review"/>', '<bpmn:userTask id="ship"/>')
            + '<bpmn:boundaryEvent id="late" attachedToRef="review"><bpmn:timerEventDefinition><bpmn:timeDuration>P1D'
            "</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent>"
            '<bpmn:endEvent id="x"/><bpmn:sequenceFlow id="lx" sourceRef="late" targetRef="x"/>',
        )
    )
    instance = services.instance_start(definition=definition)
    services.instance_modify(
        instance_id=instance.pk, instructions=[Instruction("cancel", "review"), Instruction("start_before", "ship")]
    )
    assert waiting_at(instance) == ["ship"]
    assert not instance.jobs.filter(status="pending").exists()


def test_a_task_started_before_an_activity_with_a_boundary_timer_gets_the_timer():
    definition = deploy_one(
        bpmn(
            "order",
            chain('<bpmn:userTask id="review"/>', '<bpmn:userTask id="ship"/>')
            + '<bpmn:boundaryEvent id="late" attachedToRef="ship"><bpmn:timerEventDefinition><bpmn:timeDuration>P1D'
            "</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent>"
            '<bpmn:endEvent id="x"/><bpmn:sequenceFlow id="lx" sourceRef="late" targetRef="x"/>',
        )
    )
    instance = services.instance_start(definition=definition)
    services.instance_modify(instance_id=instance.pk, instructions=[Instruction("start_before", "ship")])
    assert waiting_at(instance) == ["late", "review", "ship"]


def test_a_started_task_completes_into_the_rest_of_the_process():
    instance = services.instance_start(definition=deploy_one(ORDER))
    services.instance_modify(
        instance_id=instance.pk, instructions=[Instruction("cancel", "review"), Instruction("start_before", "ship")]
    )
    task = HumanTask.objects.get(instance=instance, element_id="ship")
    services.instance_complete_step(instance_id=instance.pk, spiff_task_id=str(task.spiff_task_id))
    instance.refresh_from_db()
    assert instance.status == "completed"


def test_a_suspended_instance_is_not_modified():
    instance = services.instance_start(definition=deploy_one(ORDER))
    services.instance_suspend(instance_id=instance.pk)
    with pytest.raises(Exception) as refused:
        services.instance_modify(instance_id=instance.pk, instructions=[Instruction("start_before", "ship")])
    assert refused.value.code == "instance_suspended"


SUB = bpmn(
    "order",
    chain(
        '<bpmn:subProcess id="sub"><bpmn:startEvent id="s1"/><bpmn:userTask id="inner"/><bpmn:userTask id="second"/>'
        '<bpmn:endEvent id="s2"/><bpmn:sequenceFlow id="g1" sourceRef="s1" targetRef="inner"/>'
        '<bpmn:sequenceFlow id="g2" sourceRef="inner" targetRef="second"/><bpmn:sequenceFlow id="g3" sourceRef="second" targetRef="s2"/>'
        "</bpmn:subProcess>",
        '<bpmn:userTask id="after"/>',
    ),
)


def test_a_token_moves_inside_a_running_subprocess_and_the_subprocess_goes_on():
    instance = services.instance_start(definition=deploy_one(SUB))
    services.instance_modify(
        instance_id=instance.pk, instructions=[Instruction("start_before", "second"), Instruction("cancel", "inner")]
    )
    assert waiting_at(instance) == ["second"]
    task = HumanTask.objects.get(instance=instance, element_id="second")
    services.instance_complete_step(instance_id=instance.pk, spiff_task_id=str(task.spiff_task_id))
    assert waiting_at(instance) == ["after"]


def test_starting_inside_a_subprocess_that_is_not_running_says_what_to_do():
    definition = deploy_one(SUB)
    instance = services.instance_start(definition=definition)
    services.instance_modify(
        instance_id=instance.pk, instructions=[Instruction("start_before", "after"), Instruction("cancel", "inner")]
    )
    with pytest.raises(ModificationInvalid, match="subprocess 'sub' is not running: start before 'sub' instead"):
        services.instance_modify(instance_id=instance.pk, instructions=[Instruction("start_before", "second")])


def test_one_instance_of_a_multi_instance_is_not_cancelled_alone():
    definition = deploy_one(
        bpmn(
            "order",
            chain(
                '<bpmn:userTask id="vote"><bpmn:multiInstanceLoopCharacteristics camunda:collection="voters" '
                'camunda:elementVariable="voter"/></bpmn:userTask>'
            ),
        )
    )
    instance = services.instance_start(definition=definition, variables={"voters": ["a", "b"]})
    one = instance.waiting_steps.first()
    with pytest.raises(ModificationInvalid, match="cancel the activity as a whole"):
        services.instance_modify(
            instance_id=instance.pk, instructions=[Instruction("cancel", activity_instance_id=str(one.spiff_task_id))]
        )
    services.instance_modify(instance_id=instance.pk, instructions=[Instruction("cancel", "vote")])
    instance.refresh_from_db()
    assert instance.status == "cancelled"
