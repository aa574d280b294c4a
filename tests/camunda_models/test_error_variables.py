"""camunda:errorCodeVariable and errorMessageVariable on a catching error event hold the
caught error's code and message, as in Camunda."""

import pytest

from processes import services
from tasks import services as task_services

from ..processes.factories import bpmn, deploy_one

pytestmark = pytest.mark.django_db

CATCH = (
    '<bpmn:errorEventDefinition errorRef="declined" camunda:errorCodeVariable="code" '
    'camunda:errorMessageVariable="why"/>'
)


def _flows(*pairs) -> str:
    return "".join(f'<bpmn:sequenceFlow id="f{i}" sourceRef="{a}" targetRef="{b}"/>' for i, (a, b) in enumerate(pairs))


def test_a_thrown_bpmn_error_sets_the_code_and_message_variables(admin_user):
    doc = bpmn(
        "pay",
        '<bpmn:startEvent id="start"/><bpmn:userTask id="charge" camunda:assignee="admin"/>'
        f'<bpmn:boundaryEvent id="failed" attachedToRef="charge">{CATCH}</bpmn:boundaryEvent>'
        '<bpmn:userTask id="review"/><bpmn:endEvent id="end"/><bpmn:endEvent id="end2"/>'
        + _flows(("start", "charge"), ("charge", "end"), ("failed", "review"), ("review", "end2")),
        extra='<bpmn:error id="declined" errorCode="card-declined"/>',
    )
    instance = services.instance_start(definition=deploy_one(doc))
    task = instance.human_tasks.get()
    task_services.task_throw(task_id=task.pk, user=admin_user, code="card-declined", message="limit reached")
    instance.refresh_from_db()
    assert (instance.variables["code"], instance.variables["why"]) == ("card-declined", "limit reached")
    assert "bpm_error_message" not in instance.variables and "message" not in instance.variables


def test_an_error_end_event_in_a_subprocess_sets_the_code_variable():
    doc = bpmn(
        "sub",
        '<bpmn:startEvent id="start"/>'
        '<bpmn:subProcess id="work"><bpmn:startEvent id="s2"/>'
        '<bpmn:endEvent id="boom"><bpmn:errorEventDefinition errorRef="declined"/></bpmn:endEvent>'
        '<bpmn:sequenceFlow id="g1" sourceRef="s2" targetRef="boom"/></bpmn:subProcess>'
        f'<bpmn:boundaryEvent id="failed" attachedToRef="work">{CATCH}</bpmn:boundaryEvent>'
        '<bpmn:userTask id="review"/><bpmn:endEvent id="end"/><bpmn:endEvent id="end2"/>'
        + _flows(("start", "work"), ("work", "end"), ("failed", "review"), ("review", "end2")),
        extra='<bpmn:error id="declined" errorCode="card-declined"/>',
    )
    instance = services.instance_start(definition=deploy_one(doc))
    assert instance.variables["code"] == "card-declined" and instance.variables["why"] is None
    assert [s.element_id for s in instance.waiting_steps.all()] == ["review"]
