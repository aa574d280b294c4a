"""Messages as Camunda correlates them: in a Camunda Modeler diagram (camunda: attributes)
as in a plain one, the payload becomes process variables, and nothing answers a 500."""

import pytest
from rest_framework.test import APIClient

from processes import services

from ..processes.factories import bpmn, deploy_one

pytestmark = pytest.mark.django_db

# camunda:asyncBefore="false" makes it a Camunda Modeler file (the Camunda dialect)
CATCH = bpmn(
    "camunda_catch",
    '<bpmn:startEvent id="start" camunda:asyncBefore="false"/>'
    '<bpmn:intermediateCatchEvent id="paid"><bpmn:messageEventDefinition messageRef="m_paid"/>'
    '</bpmn:intermediateCatchEvent><bpmn:userTask id="ship"/><bpmn:endEvent id="end"/>'
    '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="paid"/>'
    '<bpmn:sequenceFlow id="f2" sourceRef="paid" targetRef="ship"/>'
    '<bpmn:sequenceFlow id="f3" sourceRef="ship" targetRef="end"/>',
    extra='<bpmn:message id="m_paid" name="payment_received"/>\n',
)

PLAIN_CATCH = CATCH.replace(b' camunda:asyncBefore="false"', b"").replace(b"camunda_catch", b"plain_catch")


@pytest.mark.parametrize("content", [CATCH, PLAIN_CATCH], ids=["camunda", "spiff"])
def test_a_correlated_message_moves_the_instance_on_and_its_payload_becomes_variables(content):
    instance = services.instance_start(definition=deploy_one(content), business_key="ORDER-1")
    [correlated] = services.message_correlate(
        message_name="payment_received", business_key="ORDER-1", payload={"amount": 30, "paid": True}
    )
    assert list(correlated.waiting_steps.values_list("element_id", flat=True)) == ["ship"]
    assert correlated.variables["amount"] == 30 and correlated.variables["paid"] is True
    assert correlated.pk == instance.pk


def test_correlating_over_the_api_to_a_camunda_diagram_answers_200(admin_user):
    services.instance_start(definition=deploy_one(CATCH), business_key="ORDER-2")
    client = APIClient()
    client.force_authenticate(admin_user)
    response = client.post(
        "/api/v1/messages/",
        {"message_name": "payment_received", "business_key": "ORDER-2", "payload": {"amount": 12}},
        format="json",
    )
    assert response.status_code == 200, response.content


SENDER = bpmn(
    "camunda_sender",
    '<bpmn:startEvent id="start" camunda:asyncBefore="false"/>'
    '<bpmn:endEvent id="notify"><bpmn:messageEventDefinition messageRef="m_paid"/></bpmn:endEvent>'
    '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="notify"/>',
    extra='<bpmn:message id="m_paid" name="payment_received"/>\n',
)


def test_a_message_end_event_in_a_camunda_diagram_completes_the_sender_and_reaches_the_waiting_instance():
    receiver = services.instance_start(definition=deploy_one(CATCH), business_key="ORDER-3")
    sender = services.instance_start(definition=deploy_one(SENDER, name="sender.bpmn"), business_key="ORDER-3")
    assert sender.status == "completed"
    receiver.refresh_from_db()
    assert list(receiver.waiting_steps.values_list("element_id", flat=True)) == ["ship"]


PER_ITEM = bpmn(
    "per_item",
    '<bpmn:startEvent id="start" camunda:asyncBefore="false"/>'
    '<bpmn:receiveTask id="await_delivery" messageRef="m_delivered">'
    '<bpmn:multiInstanceLoopCharacteristics camunda:collection="items" camunda:elementVariable="item"/>'
    '</bpmn:receiveTask><bpmn:userTask id="all_delivered"/><bpmn:endEvent id="end"/>'
    '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="await_delivery"/>'
    '<bpmn:sequenceFlow id="f2" sourceRef="await_delivery" targetRef="all_delivered"/>'
    '<bpmn:sequenceFlow id="f3" sourceRef="all_delivered" targetRef="end"/>',
    extra='<bpmn:message id="m_delivered" name="delivered"/>\n',
)


def test_local_correlation_keys_reach_only_the_step_whose_own_variables_match():
    instance = services.instance_start(
        definition=deploy_one(PER_ITEM), business_key="O-9", variables={"items": ["chair", "desk"]}
    )
    from processes.exceptions import NothingWaitsForMessage

    with pytest.raises(NothingWaitsForMessage):
        services.message_correlate(message_name="delivered", business_key="O-9", local_correlation_keys={"item": "bed"})
    services.message_correlate(message_name="delivered", business_key="O-9", local_correlation_keys={"item": "desk"})
    instance.refresh_from_db()
    assert instance.waiting_steps.filter(element_id="await_delivery").count() == 1
    services.message_correlate(message_name="delivered", business_key="O-9", local_correlation_keys={"item": "chair"})
    instance.refresh_from_db()
    assert list(instance.waiting_steps.values_list("element_id", flat=True)) == ["all_delivered"]
