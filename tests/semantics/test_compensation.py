"""Compensation as BPMN 2.0 defines it: a completed activity with a compensation boundary
event gets its handler run when a compensation event is thrown; what cannot be run yet is
refused at deploy with the element named."""

import pytest

from processes import services
from processes.exceptions import DefinitionInvalidError

from ..processes.factories import bpmn, deploy_one

pytestmark = pytest.mark.django_db

BOOKING = bpmn(
    "booking",
    '<bpmn:startEvent id="start"/>'
    '<bpmn:scriptTask id="book_hotel"><bpmn:script>hotel = "booked"</bpmn:script></bpmn:scriptTask>'
    '<bpmn:boundaryEvent id="undo_hotel" attachedToRef="book_hotel"><bpmn:compensateEventDefinition/>'
    "</bpmn:boundaryEvent>"
    '<bpmn:userTask id="cancel_hotel" isForCompensation="true"/>'
    '<bpmn:scriptTask id="book_flight"><bpmn:script>flight = "booked"</bpmn:script></bpmn:scriptTask>'
    '<bpmn:boundaryEvent id="undo_flight" attachedToRef="book_flight"><bpmn:compensateEventDefinition/>'
    "</bpmn:boundaryEvent>"
    '<bpmn:scriptTask id="cancel_flight" isForCompensation="true"><bpmn:script>flight = "cancelled"</bpmn:script>'
    "</bpmn:scriptTask>"
    '<bpmn:userTask id="confirm"/><bpmn:exclusiveGateway id="ok" default="to_undo"/>'
    '<bpmn:endEvent id="done"/>'
    '<bpmn:intermediateThrowEvent id="undo_all"><bpmn:compensateEventDefinition/></bpmn:intermediateThrowEvent>'
    '<bpmn:userTask id="after_undo"/><bpmn:endEvent id="undone"/>'
    '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="book_hotel"/>'
    '<bpmn:sequenceFlow id="f2" sourceRef="book_hotel" targetRef="book_flight"/>'
    '<bpmn:sequenceFlow id="f3" sourceRef="book_flight" targetRef="confirm"/>'
    '<bpmn:sequenceFlow id="f4" sourceRef="confirm" targetRef="ok"/>'
    '<bpmn:sequenceFlow id="to_done" sourceRef="ok" targetRef="done">'
    "<bpmn:conditionExpression>${confirmed}</bpmn:conditionExpression></bpmn:sequenceFlow>"
    '<bpmn:sequenceFlow id="to_undo" sourceRef="ok" targetRef="undo_all"/>'
    '<bpmn:sequenceFlow id="f5" sourceRef="undo_all" targetRef="after_undo"/>'
    '<bpmn:sequenceFlow id="f6" sourceRef="after_undo" targetRef="undone"/>'
    '<bpmn:association id="a1" sourceRef="undo_hotel" targetRef="cancel_hotel"/>'
    '<bpmn:association id="a2" sourceRef="undo_flight" targetRef="cancel_flight"/>',
)


def _waiting(instance):
    instance.refresh_from_db()
    return sorted(instance.waiting_steps.values_list("element_id", flat=True))


def _complete(instance, element_id, **data):
    step = instance.waiting_steps.get(element_id=element_id)
    return services.instance_complete_step(instance_id=instance.pk, spiff_task_id=str(step.spiff_task_id), data=data)


def test_a_process_with_compensation_boundary_events_deploys_and_runs_without_compensating():
    instance = services.instance_start(definition=deploy_one(BOOKING))
    assert _waiting(instance) == ["confirm"]
    instance = _complete(instance, "confirm", confirmed=True)
    assert instance.status == "completed"
    assert not instance.history.filter(element_id__in=["cancel_hotel", "cancel_flight"]).exists()


def test_a_compensation_throw_runs_the_handlers_of_completed_activities_and_waits_for_them():
    instance = services.instance_start(definition=deploy_one(BOOKING))
    instance = _complete(instance, "confirm", confirmed=False)
    # the script handler ran; the user-task handler waits; the throw waits for it
    assert _waiting(instance) == ["cancel_hotel"]
    assert instance.variables["flight"] == "cancelled"
    instance = _complete(instance, "cancel_hotel")
    assert _waiting(instance) == ["after_undo"]
    kinds = list(instance.history.filter(kind="step_completed").values_list("element_id", flat=True))
    # in reverse order of completion: the flight before the hotel
    assert kinds.index("cancel_flight") < kinds.index("cancel_hotel") < kinds.index("undo_all")


def test_a_compensation_throw_naming_an_activity_compensates_only_that_activity():
    content = BOOKING.replace(
        b"<bpmn:compensateEventDefinition/></bpmn:intermediateThrowEvent>",
        b'<bpmn:compensateEventDefinition activityRef="book_flight"/></bpmn:intermediateThrowEvent>',
    )
    instance = services.instance_start(definition=deploy_one(content))
    instance = _complete(instance, "confirm", confirmed=False)
    assert _waiting(instance) == ["after_undo"]
    assert instance.variables["flight"] == "cancelled" and instance.variables["hotel"] == "booked"


def test_a_compensation_event_subprocess_is_refused_at_deploy_naming_the_element():
    content = bpmn(
        "comp_esp",
        '<bpmn:startEvent id="start"/><bpmn:endEvent id="end"/>'
        '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="end"/>'
        '<bpmn:subProcess id="on_comp" triggeredByEvent="true">'
        '<bpmn:startEvent id="comp_start"><bpmn:compensateEventDefinition/></bpmn:startEvent>'
        '<bpmn:endEvent id="comp_end"/><bpmn:sequenceFlow id="c1" sourceRef="comp_start" targetRef="comp_end"/>'
        "</bpmn:subProcess>",
    )
    with pytest.raises(DefinitionInvalidError) as refused:
        deploy_one(content)
    problems = refused.value.details
    assert any(p.get("element_id") == "comp_start" and "ompensation" in p["message"] for p in problems), problems


def test_compensation_inside_a_transaction_is_refused_at_deploy_naming_the_boundary_event():
    content = bpmn(
        "comp_tx",
        '<bpmn:startEvent id="start"/><bpmn:transaction id="tx"><bpmn:startEvent id="tx_start"/>'
        '<bpmn:scriptTask id="book"><bpmn:script>booked = True</bpmn:script></bpmn:scriptTask>'
        '<bpmn:boundaryEvent id="undo_book" attachedToRef="book"><bpmn:compensateEventDefinition/></bpmn:boundaryEvent>'
        '<bpmn:userTask id="unbook" isForCompensation="true"/><bpmn:endEvent id="tx_end"/>'
        '<bpmn:sequenceFlow id="t1" sourceRef="tx_start" targetRef="book"/>'
        '<bpmn:sequenceFlow id="t2" sourceRef="book" targetRef="tx_end"/>'
        '<bpmn:association id="a1" sourceRef="undo_book" targetRef="unbook"/></bpmn:transaction>'
        '<bpmn:endEvent id="end"/><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="tx"/>'
        '<bpmn:sequenceFlow id="f2" sourceRef="tx" targetRef="end"/>',
    )
    with pytest.raises(DefinitionInvalidError) as refused:
        deploy_one(content)
    assert any(p.get("element_id") == "undo_book" for p in refused.value.details), refused.value.details
