"""Diagrams the /engine-rest tests deploy: an external task with a boundary error event."""

from ..processes.factories import bpmn

CHARGE = bpmn(
    "charge",
    '<bpmn:startEvent id="start"/>'
    '<bpmn:serviceTask id="charge_card" name="Charge card" camunda:type="external" camunda:topic="charge-card" '
    'camunda:taskPriority="${priority}"/>'
    '<bpmn:boundaryEvent id="declined" attachedToRef="charge_card"><bpmn:errorEventDefinition errorRef="err"/>'
    "</bpmn:boundaryEvent>"
    '<bpmn:userTask id="review" name="Review declined card"/>'
    '<bpmn:userTask id="ship" name="Ship"/>'
    '<bpmn:endEvent id="end"/><bpmn:endEvent id="end2"/>'
    '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="charge_card"/>'
    '<bpmn:sequenceFlow id="f2" sourceRef="charge_card" targetRef="ship"/>'
    '<bpmn:sequenceFlow id="f3" sourceRef="ship" targetRef="end"/>'
    '<bpmn:sequenceFlow id="f4" sourceRef="declined" targetRef="review"/>'
    '<bpmn:sequenceFlow id="f5" sourceRef="review" targetRef="end2"/>',
    extra='<bpmn:error id="err" errorCode="card-declined"/>',
)
