"""Conditional events are waiting points, re-evaluated whenever variables change."""

import pytest

from processes import services

from ..processes.factories import bpmn, deploy_one

pytestmark = pytest.mark.django_db

CONDITIONAL_CATCH = bpmn(
    "conditional_catch",
    '<bpmn:startEvent id="start"/>'
    '<bpmn:intermediateCatchEvent id="until_ready"><bpmn:conditionalEventDefinition>'
    "<bpmn:condition>${ready}</bpmn:condition></bpmn:conditionalEventDefinition></bpmn:intermediateCatchEvent>"
    '<bpmn:userTask id="go"/><bpmn:endEvent id="end"/>'
    '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="until_ready"/>'
    '<bpmn:sequenceFlow id="f2" sourceRef="until_ready" targetRef="go"/>'
    '<bpmn:sequenceFlow id="f3" sourceRef="go" targetRef="end"/>',
)


def _waiting(instance):
    return sorted(instance.waiting_steps.values_list("element_id", "kind"))


def test_a_conditional_catch_event_is_listed_as_a_waiting_point():
    instance = services.instance_start(definition=deploy_one(CONDITIONAL_CATCH), variables={"ready": False})
    assert _waiting(instance) == [("until_ready", "conditional")]


def test_a_conditional_catch_event_fires_when_set_variables_makes_its_condition_true():
    instance = services.instance_start(definition=deploy_one(CONDITIONAL_CATCH), variables={"ready": False})
    instance = services.instance_set_variables(instance_id=instance.pk, variables={"ready": True})
    assert _waiting(instance) == [("go", "user")]


def test_a_conditional_catch_event_whose_condition_holds_on_arrival_passes_at_once():
    instance = services.instance_start(definition=deploy_one(CONDITIONAL_CATCH), variables={"ready": True})
    assert _waiting(instance) == [("go", "user")]


CONDITIONAL_BOUNDARY = bpmn(
    "conditional_boundary",
    '<bpmn:startEvent id="start"/><bpmn:userTask id="work"/>'
    '<bpmn:boundaryEvent id="cancelled" attachedToRef="work"><bpmn:conditionalEventDefinition>'
    "<bpmn:condition>${cancel_requested}</bpmn:condition></bpmn:conditionalEventDefinition></bpmn:boundaryEvent>"
    '<bpmn:userTask id="clean_up"/><bpmn:endEvent id="end"/><bpmn:endEvent id="end2"/>'
    '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work"/>'
    '<bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end"/>'
    '<bpmn:sequenceFlow id="f3" sourceRef="cancelled" targetRef="clean_up"/>'
    '<bpmn:sequenceFlow id="f4" sourceRef="clean_up" targetRef="end2"/>',
)


def test_an_interrupting_conditional_boundary_event_fires_on_a_variable_change():
    instance = services.instance_start(
        definition=deploy_one(CONDITIONAL_BOUNDARY), variables={"cancel_requested": False}
    )
    assert ("work", "user") in _waiting(instance)
    instance = services.instance_set_variables(instance_id=instance.pk, variables={"cancel_requested": True})
    assert _waiting(instance) == [("clean_up", "user")]


def _with_conditional_event_subprocess(interrupting: bool) -> bytes:
    flag = "true" if interrupting else "false"
    return bpmn(
        f"conditional_esp_{flag}",
        '<bpmn:startEvent id="start"/><bpmn:userTask id="work"/><bpmn:endEvent id="end"/>'
        '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work"/>'
        '<bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end"/>'
        '<bpmn:subProcess id="on_flag" triggeredByEvent="true">'
        f'<bpmn:startEvent id="flag_start" isInterrupting="{flag}"><bpmn:conditionalEventDefinition>'
        "<bpmn:condition>${variable == 1}</bpmn:condition></bpmn:conditionalEventDefinition></bpmn:startEvent>"
        '<bpmn:userTask id="handle"/><bpmn:endEvent id="handled"/>'
        '<bpmn:sequenceFlow id="e1" sourceRef="flag_start" targetRef="handle"/>'
        '<bpmn:sequenceFlow id="e2" sourceRef="handle" targetRef="handled"/></bpmn:subProcess>',
    )


@pytest.mark.parametrize("interrupting", [True, False], ids=["interrupting", "non-interrupting"])
def test_a_conditional_event_subprocess_starts_when_a_variable_change_makes_its_condition_true(interrupting):
    # the variable does not exist at the start: the condition is false, not an error (Camunda)
    instance = services.instance_start(definition=deploy_one(_with_conditional_event_subprocess(interrupting)))
    assert [e for e, _ in _waiting(instance)] == ["work"]
    instance = services.instance_set_variables(instance_id=instance.pk, variables={"variable": 1})
    expected = ["handle"] if interrupting else ["handle", "work"]
    assert [e for e, _ in _waiting(instance)] == expected


CONDITIONAL_START = bpmn(
    "conditional_start",
    '<bpmn:startEvent id="start"><bpmn:conditionalEventDefinition><bpmn:condition>${foo == 1}</bpmn:condition>'
    '</bpmn:conditionalEventDefinition></bpmn:startEvent><bpmn:userTask id="work"/><bpmn:endEvent id="end"/>'
    '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work"/>'
    '<bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end"/>',
)


def test_evaluating_conditions_starts_the_processes_whose_conditional_start_holds(admin_user):
    from rest_framework.test import APIClient

    deploy_one(CONDITIONAL_START)
    client = APIClient()
    client.force_authenticate(admin_user)
    assert client.post("/api/v1/conditions/", {"variables": {"foo": 2}}, format="json").json() == []
    response = client.post("/api/v1/conditions/", {"variables": {"foo": 1}, "business_key": "C-1"}, format="json")
    assert response.status_code == 200, response.content
    [started] = response.json()
    assert started["business_key"] == "C-1"
    from processes.models import ProcessInstance

    assert _waiting(ProcessInstance.objects.get(pk=started["id"])) == [("work", "user")]


def test_a_conditional_start_whose_condition_fails_is_refused_with_422_not_a_server_error(admin_user):
    from rest_framework.test import APIClient

    deploy_one(CONDITIONAL_START.replace(b"${foo == 1}", b"${foo / 0 == 1}").replace(b"conditional_start", b"bad_cond"))
    client = APIClient()
    client.force_authenticate(admin_user)
    response = client.post("/api/v1/conditions/", {"variables": {"foo": 1}}, format="json")
    assert response.status_code == 422, response.content
    assert response.json()["errors"]["element_id"] == "start"
