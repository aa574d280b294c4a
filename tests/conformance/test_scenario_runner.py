"""The conformance runner itself: it checks the path taken, and runs scenario steps."""

import pytest

from processes import services
from tests.processes.factories import bpmn

from .scenario import Scenario

pytestmark = pytest.mark.django_db

BRANCHES = bpmn(
    "branches",
    '<bpmn:startEvent id="start"/><bpmn:exclusiveGateway id="big_q"/>'
    '<bpmn:userTask id="approve"/><bpmn:task id="auto"/><bpmn:endEvent id="end_a"/><bpmn:endEvent id="end_b"/>'
    '<bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="big_q"/>'
    '<bpmn:sequenceFlow id="f1" sourceRef="big_q" targetRef="approve"><bpmn:conditionExpression>amount &gt; 100</bpmn:conditionExpression></bpmn:sequenceFlow>'
    '<bpmn:sequenceFlow id="f2" sourceRef="big_q" targetRef="auto"><bpmn:conditionExpression>amount &lt;= 100</bpmn:conditionExpression></bpmn:sequenceFlow>'
    '<bpmn:sequenceFlow id="f3" sourceRef="approve" targetRef="end_a"/><bpmn:sequenceFlow id="f4" sourceRef="auto" targetRef="end_b"/>',
)

STEPS = bpmn(
    "stepped",
    '<bpmn:startEvent id="start"/><bpmn:userTask id="fill" camunda:candidateGroups="clerks" camunda:dueDate="${dueDate}"/>'
    '<bpmn:intermediateCatchEvent id="pause"><bpmn:timerEventDefinition><bpmn:timeDuration>PT1H</bpmn:timeDuration>'
    "</bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>"
    '<bpmn:receiveTask id="wait_goods" messageRef="goods"/><bpmn:endEvent id="end"/>'
    '<bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="fill"/><bpmn:sequenceFlow id="f1" sourceRef="fill" targetRef="pause"/>'
    '<bpmn:sequenceFlow id="f2" sourceRef="pause" targetRef="wait_goods"/><bpmn:sequenceFlow id="f3" sourceRef="wait_goods" targetRef="end"/>',
    extra='<bpmn:message id="goods" name="goods_received"/>',
)


def run(content: bytes, expected: dict) -> Scenario:
    services.definition_deploy(files=[("p.bpmn", content)])
    scenario = Scenario(expected)
    scenario.run()
    scenario.check_outcome()
    return scenario


def test_the_path_taken_is_checked_not_only_the_end():
    expected = {"process": "branches", "start_variables": {"amount": 5}, "outcome": "completed"}
    run(BRANCHES, {**expected, "visited": ["auto", "big_q", "end_b", "start"], "not_visited": ["approve", "end_a"]})
    with pytest.raises(AssertionError, match="ran but must not have"):
        run(BRANCHES, {**expected, "visited": ["auto"], "not_visited": ["auto"]})
    with pytest.raises(AssertionError, match="expected to run but did not"):
        run(BRANCHES, {**expected, "visited": ["approve"]})


def test_scenario_steps_complete_advance_correlate_and_expect_refusals():
    run(
        STEPS,
        {
            "process": "stepped",
            "business_key": "PO-7",
            "start_variables": {"dueDate": "2030-01-01T10:00:00Z"},
            "steps": [
                {"expect_waiting": ["fill"]},
                {"expect_task": {"element": "fill", "candidate_groups": ["clerks"], "assignee": None}},
                {"complete": "fill", "data": {"qty": 3}},
                {"expect_waiting": ["pause"]},
                {"correlate": "goods_received", "business_key": "PO-7"},
                {"expect_error": True},
                {"advance": "PT2H"},
                {"expect_waiting": ["wait_goods"]},
                {"correlate": "goods_received", "business_key": "PO-7", "payload": {"received": True}},
            ],
            "outcome": "completed",
            "variables": {"qty": 3, "received": True},
            "visited": ["end", "fill", "pause", "start", "wait_goods"],
        },
    )


def test_an_expected_refusal_that_is_not_refused_fails_the_scenario():
    with pytest.raises(AssertionError, match="expected to be refused"):
        run(
            STEPS,
            {
                "process": "stepped",
                "start_variables": {"dueDate": "2030-01-01T10:00:00Z"},
                "steps": [{"complete": "fill"}, {"expect_error": True}],
                "outcome": "waiting",
                "waiting_at": ["pause"],
            },
        )
