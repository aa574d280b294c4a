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


def test_a_python_script_gives_an_input_and_an_output_parameter_its_value():
    content = bpmn(
        "io_script",
        chain(
            '<bpmn:scriptTask id="price"><bpmn:extensionElements><camunda:inputOutput>'
            '<camunda:inputParameter name="net"><camunda:script scriptFormat="python">amount * 3</camunda:script>'
            "</camunda:inputParameter>"
            '<camunda:outputParameter name="gross"><camunda:script scriptFormat="python">total + 1</camunda:script>'
            "</camunda:outputParameter></camunda:inputOutput></bpmn:extensionElements>"
            "<bpmn:script>total = net + 1</bpmn:script></bpmn:scriptTask>",
            '<bpmn:userTask id="after"/>',
        ),
    )
    instance = services.instance_start(definition=deploy_one(content), variables={"amount": 10})
    assert instance.variables["gross"] == 32


@pytest.mark.parametrize(
    ("script", "says"),
    [
        ('<camunda:script scriptFormat="groovy">amount * 3</camunda:script>', "groovy"),
        ('<camunda:script scriptFormat="python" resource="calc.py"/>', "resource"),
        ('<camunda:script scriptFormat="python">x = 1\nx + 1</camunda:script>', "one Python expression"),
    ],
)
def test_a_parameter_script_that_is_not_one_python_expression_is_refused_at_deploy(script, says):
    from processes.exceptions import DefinitionInvalidError

    content = bpmn(
        "io_bad",
        chain(
            '<bpmn:userTask id="review"><bpmn:extensionElements><camunda:inputOutput>'
            f'<camunda:inputParameter name="net">{script}</camunda:inputParameter>'
            "</camunda:inputOutput></bpmn:extensionElements></bpmn:userTask>"
        ),
    )
    with pytest.raises(DefinitionInvalidError) as refused:
        deploy_one(content)
    [problem] = refused.value.details
    assert problem["element_id"] == "review" and says in problem["message"]
