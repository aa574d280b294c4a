"""The JUEL Camunda diagrams commonly use: dateTime() for due dates, String and list methods;
any other method call is refused at deploy with the element and the expression."""

import pytest
from django.utils import timezone

from processes import services
from processes.exceptions import DefinitionInvalidError
from tasks.models import HumanTask

from ..processes.factories import bpmn, chain, deploy_one

pytestmark = pytest.mark.django_db


def test_a_due_date_of_date_time_plus_weeks_is_a_week_out():
    content = bpmn(
        "due_in_a_week",
        chain('<bpmn:userTask id="approve" camunda:dueDate="${dateTime().plusWeeks(1).toDate()}"/>'),
    )
    instance = services.instance_start(definition=deploy_one(content))
    task = HumanTask.objects.get(instance=instance)
    expected = timezone.now() + timezone.timedelta(weeks=1)
    assert abs((task.due_at - expected).total_seconds()) < 60


@pytest.mark.parametrize(
    ("condition", "variables", "taken"),
    [
        ("${clarified.equals('yes')}", {"clarified": "yes"}, "yes_end"),
        ("${clarified.equals('yes')}", {"clarified": "no"}, "no_end"),
        ("${name.contains('Pizza')}", {"name": "Great Pizza for Everyone Inc."}, "yes_end"),
        ("${items.size() > 1}", {"items": [1, 2]}, "yes_end"),
        ("${note.isEmpty()}", {"note": ""}, "yes_end"),
        ("${not empty note}", {"note": "x"}, "yes_end"),
        ("${amount gt 100 and category eq 'Misc'}", {"amount": 150, "category": "Misc"}, "yes_end"),
    ],
)
def test_gateway_conditions_with_java_string_and_list_methods_route_as_in_camunda(condition, variables, taken):
    content = bpmn(
        "methods",
        '<bpmn:startEvent id="start"/><bpmn:exclusiveGateway id="gw" default="no"/>'
        '<bpmn:endEvent id="yes_end"/><bpmn:endEvent id="no_end"/>'
        '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="gw"/>'
        f'<bpmn:sequenceFlow id="yes" sourceRef="gw" targetRef="yes_end"><bpmn:conditionExpression>{condition}'
        "</bpmn:conditionExpression></bpmn:sequenceFlow>"
        '<bpmn:sequenceFlow id="no" sourceRef="gw" targetRef="no_end"/>',
    )
    instance = services.instance_start(definition=deploy_one(content), variables=variables)
    assert instance.history.filter(kind="step_completed", element_id=taken).exists()


def test_an_unsupported_method_call_is_refused_at_deploy_naming_the_element_and_the_expression():
    content = bpmn(
        "reflective",
        '<bpmn:startEvent id="start"/><bpmn:exclusiveGateway id="gw" default="no"/><bpmn:endEvent id="end"/>'
        '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="gw"/>'
        '<bpmn:sequenceFlow id="yes" sourceRef="gw" targetRef="end"><bpmn:conditionExpression>'
        "${x.getClass().getName() == 'y'}</bpmn:conditionExpression></bpmn:sequenceFlow>"
        '<bpmn:sequenceFlow id="no" sourceRef="gw" targetRef="end"/>',
    )
    with pytest.raises(DefinitionInvalidError) as refused:
        deploy_one(content)
    [problem] = refused.value.details
    assert problem["element_id"] == "yes" and "getClass" in problem["message"]


def test_execution_get_variable_reads_a_variable_or_null():
    from processes.engine import expressions, scripting

    python = expressions.to_python("${execution.getVariable('missing') == null && execution.getVariable('x') == 2}")
    assert scripting.evaluate(python, {"x": 2}) is True
