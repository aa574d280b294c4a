"""camunda:inputOutput on activities: inputs are local to the activity, outputs are what goes on."""

import pytest

from processes import services

from ..processes.factories import bpmn, chain, deploy_one

pytestmark = pytest.mark.django_db


def test_input_parameters_are_local_and_output_parameters_carry_the_result_on():
    content = bpmn(
        "io_mapped",
        chain(
            '<bpmn:scriptTask id="price"><bpmn:extensionElements><camunda:inputOutput>'
            '<camunda:inputParameter name="net">${amount * 2}</camunda:inputParameter>'
            '<camunda:inputParameter name="labels"><camunda:list><camunda:value>a</camunda:value>'
            "<camunda:value>${currency}</camunda:value></camunda:list></camunda:inputParameter>"
            '<camunda:outputParameter name="gross">${total}</camunda:outputParameter>'
            "</camunda:inputOutput></bpmn:extensionElements>"
            "<bpmn:script>total = net + 1\nseen = labels</bpmn:script></bpmn:scriptTask>",
            '<bpmn:userTask id="after"/>',
        ),
    )
    instance = services.instance_start(definition=deploy_one(content), variables={"amount": 10, "currency": "EUR"})
    variables = instance.variables
    assert variables["gross"] == 21
    assert variables["seen"] == ["a", "EUR"]
    assert "net" not in variables and "labels" not in variables


def test_an_input_parameter_on_a_user_task_is_seen_while_it_waits_and_dropped_after():
    content = bpmn(
        "io_user",
        chain(
            '<bpmn:userTask id="review"><bpmn:extensionElements><camunda:inputOutput>'
            '<camunda:inputParameter name="hint">Check ${who}</camunda:inputParameter>'
            "</camunda:inputOutput></bpmn:extensionElements></bpmn:userTask>",
            '<bpmn:userTask id="after"/>',
        ),
    )
    instance = services.instance_start(definition=deploy_one(content), variables={"who": "Ada"})
    assert instance.variables["hint"] == "Check Ada"
    step = instance.waiting_steps.get()
    instance = services.instance_complete_step(instance_id=instance.pk, spiff_task_id=str(step.spiff_task_id))
    assert "hint" not in instance.variables
