"""camunda:in / camunda:out: a called process sees only what the caller passes, and only what
is mapped out comes back, as in Camunda."""

import pytest

from processes import services

from ..processes.factories import bpmn, chain

pytestmark = pytest.mark.django_db

CHILD = bpmn(
    "child",
    chain(
        '<bpmn:scriptTask id="work"><bpmn:script>seen = sorted(k for k in ["secret", "amount", "doubled"] '
        "if k in globals())\nresult = amount * 2\nlocal_only = 1</bpmn:script></bpmn:scriptTask>"
    ),
)


def _parent(mappings: str) -> bytes:
    return bpmn(
        "parent",
        chain(
            f'<bpmn:callActivity id="call" calledElement="child"><bpmn:extensionElements>{mappings}'
            "</bpmn:extensionElements></bpmn:callActivity>",
            '<bpmn:userTask id="after"/>',
        ),
    )


def _run(mappings: str, **variables):
    deployed = services.definition_deploy(files=[("child.bpmn", CHILD), ("parent.bpmn", _parent(mappings))])
    parent = next(d for d in deployed.created if d.key == "parent")
    return services.instance_start(definition=parent, variables=variables)


def test_the_called_process_sees_only_the_variables_mapped_in():
    instance = _run(
        '<camunda:in source="amount" target="amount"/><camunda:out source="seen" target="seen"/>',
        amount=21,
        secret="s3cr3t",
    )
    assert instance.variables["seen"] == ["amount"]


def test_only_the_variables_mapped_out_come_back_and_the_caller_keeps_its_own():
    instance = _run(
        '<camunda:in source="amount" target="amount"/><camunda:out source="result" target="doubled"/>',
        amount=21,
        secret="s3cr3t",
    )
    assert instance.variables["doubled"] == 42
    assert instance.variables["secret"] == "s3cr3t"
    assert "local_only" not in instance.variables and "result" not in instance.variables


def test_a_source_expression_and_all_variables_are_mapped():
    instance = _run(
        '<camunda:in sourceExpression="${secret.toUpperCase()}" target="amount_text"/>'
        '<camunda:in source="amount" target="amount"/><camunda:out variables="all"/>',
        amount=5,
        secret="abc",
    )
    assert instance.variables["amount_text"] == "ABC" and instance.variables["result"] == 10


def test_a_call_activity_without_mappings_is_reported_as_passing_every_variable():
    deployed = services.definition_deploy(files=[("child.bpmn", CHILD), ("parent.bpmn", _parent(""))])
    parent = next(d for d in deployed.created if d.key == "parent")
    [note] = [n for n in parent.compatibility if n["element_id"] == "call" and "without" in n["feature"]]
    assert "Camunda passes none" in note["effect"]


def test_variables_mapped_in_with_local_are_only_the_call_activitys_own_input_parameters():
    instance = _run(
        "<camunda:inputOutput>"
        '<camunda:inputParameter name="amount">${base + 1}</camunda:inputParameter>'
        "</camunda:inputOutput>"
        '<camunda:in variables="all" local="true"/><camunda:out source="seen" target="seen"/>'
        '<camunda:out source="result" target="result"/>',
        base=20,
        secret="s3cr3t",
    )
    assert instance.variables["seen"] == ["amount"]
    assert instance.variables["result"] == 42
    assert "amount" not in instance.variables  # the input parameter ended with the activity


def test_variables_mapped_out_with_local_reach_the_caller_only_through_output_parameters():
    instance = _run(
        '<camunda:in source="amount"/><camunda:out source="result" target="result" local="true"/>'
        "<camunda:inputOutput>"
        '<camunda:outputParameter name="doubled">${result}</camunda:outputParameter>'
        "</camunda:inputOutput>",
        amount=21,
        result="the caller's own",
    )
    assert instance.variables["doubled"] == 42
    assert instance.variables["result"] == "the caller's own"


def test_passing_the_callers_business_key_runs_as_in_camunda():
    instance = _run(
        '<camunda:in businessKey="#{execution.processBusinessKey}"/><camunda:in source="amount" target="amount"/>'
        '<camunda:out source="result" target="doubled"/>',
        amount=4,
    )
    assert instance.variables["doubled"] == 8


def test_another_business_key_for_the_called_process_is_refused_at_deploy():
    from processes.exceptions import DefinitionInvalidError

    with pytest.raises(DefinitionInvalidError) as refused:
        _run('<camunda:in businessKey="${orderId}"/>')
    [problem] = refused.value.details
    assert problem["element_id"] == "call" and "businessKey" in problem["message"]
