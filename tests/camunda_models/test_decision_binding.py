"""camunda:decisionRefBinding as Camunda resolves it: latest (the default) when the task runs,
deployment, version; what cannot name a version is refused at deploy."""

import pytest

from processes import services
from processes.exceptions import CommandFailed, DefinitionInvalidError

from ..processes.factories import bpmn, chain, deploy

pytestmark = pytest.mark.django_db


def _table(level: str) -> bytes:
    return (
        '<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="d" name="d" namespace="x">'
        '<decision id="level" name="Level"><decisionTable><input><inputExpression><text>amount</text>'
        '</inputExpression></input><output name="level"/><rule id="r1"><inputEntry id="i1"><text>-</text>'
        f'</inputEntry><outputEntry id="o1"><text>"{level}"</text></outputEntry></rule></decisionTable></decision>'
        "</definitions>"
    ).encode()


def _process(attributes: str = "") -> bytes:
    return bpmn(
        "rate",
        chain(
            f'<bpmn:businessRuleTask id="decide" camunda:decisionRef="level" {attributes} '
            'camunda:resultVariable="level" camunda:mapDecisionResult="singleEntry"/>',
            '<bpmn:userTask id="after"/>',
        ),
    )


def _deploy_process(attributes: str = "", with_table: bytes | None = None):
    files = [("rate.bpmn", _process(attributes))] + ([("level.dmn", with_table)] if with_table else [])
    return services.definition_deploy(files=files).created[0]


def test_by_default_the_task_evaluates_the_newest_decision_deployed_when_it_runs():
    definition = _deploy_process(with_table=_table("v1"))
    deploy(_table("v2"), "level.dmn")  # from Camunda Modeler's DMN editor, on its own
    assert services.instance_start(definition=definition, variables={"amount": 5}).variables["level"] == "v2"


def test_deployment_binding_evaluates_the_decision_deployed_with_the_process():
    definition = _deploy_process('camunda:decisionRefBinding="deployment"', with_table=_table("v1"))
    deploy(_table("v2"), "level.dmn")
    assert services.instance_start(definition=definition, variables={"amount": 5}).variables["level"] == "v1"


def test_version_binding_evaluates_that_version_also_from_an_expression():
    deploy(_table("v1"), "level.dmn")
    deploy(_table("v2"), "level.dmn")
    fixed = _deploy_process('camunda:decisionRefBinding="version" camunda:decisionRefVersion="1"')
    assert services.instance_start(definition=fixed, variables={"amount": 5}).variables["level"] == "v1"
    chosen = _deploy_process('camunda:decisionRefBinding="version" camunda:decisionRefVersion="${wanted}"')
    instance = services.instance_start(definition=chosen, variables={"amount": 5, "wanted": 2})
    assert instance.variables["level"] == "v2"


def test_a_version_that_does_not_exist_fails_the_command_at_the_task():
    deploy(_table("v1"), "level.dmn")
    definition = _deploy_process('camunda:decisionRefBinding="version" camunda:decisionRefVersion="9"')
    with pytest.raises(CommandFailed) as failed:
        services.instance_start(definition=definition, variables={"amount": 5})
    assert failed.value.element_id == "decide" and "version 9 of decision 'level'" in failed.value.message


@pytest.mark.parametrize(
    ("attributes", "says"),
    [
        ('camunda:decisionRefBinding="deployment"', "same deployment"),
        ('camunda:decisionRefBinding="version"', "decisionRefVersion"),
        ('camunda:decisionRefBinding="versionTag" camunda:decisionRefVersionTag="a"', "not supported"),
    ],
)
def test_a_decision_binding_that_cannot_name_a_version_is_refused_at_deploy(attributes, says):
    deploy(_table("v1"), "level.dmn")
    with pytest.raises(DefinitionInvalidError) as refused:
        _deploy_process(attributes)
    [problem] = refused.value.details
    assert problem["element_id"] == "decide" and says in problem["message"]
