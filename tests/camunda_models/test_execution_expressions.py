"""``execution.processBusinessKey`` in expressions, as Camunda diagrams use it; any other
member of ``execution`` is refused at deploy naming the element."""

import pytest

from processes import services
from processes.exceptions import DefinitionInvalidError

from ..processes.factories import bpmn, chain, deploy

pytestmark = pytest.mark.django_db


def test_a_condition_reads_the_business_key():
    doc = bpmn(
        "route",
        '<bpmn:startEvent id="start"/><bpmn:exclusiveGateway id="gw"/>'
        '<bpmn:userTask id="vip"/><bpmn:userTask id="normal"/><bpmn:endEvent id="e1"/><bpmn:endEvent id="e2"/>'
        '<bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="gw"/>'
        '<bpmn:sequenceFlow id="f1" sourceRef="gw" targetRef="vip"><bpmn:conditionExpression>'
        '${execution.processBusinessKey.startsWith("VIP")}</bpmn:conditionExpression></bpmn:sequenceFlow>'
        '<bpmn:sequenceFlow id="f2" sourceRef="gw" targetRef="normal"><bpmn:conditionExpression>'
        '${!execution.getProcessBusinessKey().startsWith("VIP")}</bpmn:conditionExpression></bpmn:sequenceFlow>'
        '<bpmn:sequenceFlow id="f3" sourceRef="vip" targetRef="e1"/><bpmn:sequenceFlow id="f4" sourceRef="normal" targetRef="e2"/>',
    )
    definition = deploy(doc).created[0]
    vip = services.instance_start(definition=definition, business_key="VIP-7")
    other = services.instance_start(definition=definition, business_key="ORD-8")
    assert [s.element_id for s in vip.waiting_steps.all()] == ["vip"]
    assert [s.element_id for s in other.waiting_steps.all()] == ["normal"]


def test_a_task_is_assigned_by_an_expression_over_the_business_key(django_user_model):
    django_user_model.objects.create_user("owner-B1", password="x")
    doc = bpmn("assign", chain('<bpmn:userTask id="u" camunda:assignee="owner-${execution.processBusinessKey}"/>'))
    instance = services.instance_start(definition=deploy(doc).created[0], business_key="B1")
    assert instance.human_tasks.get().assignee.username == "owner-B1"


def test_another_member_of_execution_is_refused_at_deploy():
    doc = bpmn("other", chain('<bpmn:userTask id="u" camunda:assignee="${execution.activityId}"/>'))
    with pytest.raises(DefinitionInvalidError) as refused:
        deploy(doc)
    [problem] = refused.value.details
    assert problem["element_id"] == "u" and "execution.activityId" in problem["message"]
