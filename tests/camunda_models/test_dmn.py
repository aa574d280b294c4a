"""DMN 1.3 as Camunda 7 evaluates it: every decision of a file, decision requirements, FEEL
cells, every hit policy, and the business rule task's resultVariable / mapDecisionResult."""

from pathlib import Path

import pytest

from processes import services
from processes.engine import dmn, feel
from processes.exceptions import CommandFailed, DefinitionInvalidError

from ..processes.factories import bpmn, chain

pytestmark = pytest.mark.django_db

INVOICE = Path(__file__).with_name("invoice")


@pytest.mark.parametrize(
    ("tests", "value", "matches"),
    [
        ("< 250", 30, True),
        ("[250..1000]", 250, True),
        ("]250..1000]", 250, False),
        ("(1..10)", 10, False),
        ('"gold", "silver"', "silver", True),
        ("1, 2, 3", 4, False),
        ('not("gold", "silver")', "bronze", True),
        ("not(< 5)", 3, False),
        ("null", None, True),
        ("-", "anything", True),
        ('>= date("2026-01-01")', __import__("datetime").date(2026, 3, 1), True),
        ('[date("2026-01-01")..date("2026-12-31")]', __import__("datetime").date(2027, 1, 1), False),
    ],
)
def test_feel_unary_tests_match_as_camunda_evaluates_them(tests, value, matches):
    assert feel.unary_tests_match(feel.compile_unary_tests(tests), {}, value) is matches


def test_feel_expressions_evaluate_functions_ranges_and_conditionals():
    evaluate = lambda text, **context: feel.to_python(feel.evaluate(feel.compile_expression(text), context))  # noqa: E731
    assert evaluate('if amount > 100 then "big" else "small"', amount=150) == "big"
    assert evaluate('upper case(name) + "!"', name="ada") == "ADA!"
    assert evaluate("sum([1, 2, 3]) * 2") == 12
    assert evaluate('date and time("2026-01-01T10:00:00") + duration("P1D")') == "2026-01-02T10:00:00"
    assert evaluate("missing") is None


def _decisions(xml: str) -> dict:
    from lxml import etree

    return dmn.parse_decisions(etree.fromstring(xml.encode()), "t.dmn")


def _table(hit_policy: str, rows: list[tuple[str, str]], aggregation: str = "", output_values: str = "") -> str:
    rules = "".join(
        f'<rule id="r{i}"><inputEntry id="i{i}"><text>{test}</text></inputEntry>'
        f'<outputEntry id="o{i}"><text>{out}</text></outputEntry></rule>'
        for i, (test, out) in enumerate(rows)
    )
    values = f"<outputValues><text>{output_values}</text></outputValues>" if output_values else ""
    agg = f' aggregation="{aggregation}"' if aggregation else ""
    return (
        '<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="d" name="d" namespace="x">'
        f'<decision id="t" name="t"><decisionTable hitPolicy="{hit_policy}"{agg}>'
        "<input><inputExpression><text>score</text></inputExpression></input>"
        f'<output name="out">{values}</output>{rules}</decisionTable></decision></definitions>'
    )


ROWS = [("> 10", "1"), ("> 20", "2"), ("> 30", "3")]


@pytest.mark.parametrize(
    ("policy", "aggregation", "expected"),
    [
        ("FIRST", "", [{"out": 1}]),
        ("RULE ORDER", "", [{"out": 1}, {"out": 2}, {"out": 3}]),
        ("COLLECT", "", [{"out": 1}, {"out": 2}, {"out": 3}]),
        ("COLLECT", "SUM", [{"out": 6}]),
        ("COLLECT", "COUNT", [{"out": 3}]),
        ("COLLECT", "MIN", [{"out": 1}]),
        ("COLLECT", "MAX", [{"out": 3}]),
    ],
)
def test_each_hit_policy_gives_camundas_result(policy, aggregation, expected):
    decisions = _decisions(_table(policy, ROWS, aggregation))
    assert dmn.evaluate(decisions, "t", {"score": 35}) == expected


def test_a_unique_table_with_two_matching_rules_fails_naming_them():
    decisions = _decisions(_table("UNIQUE", ROWS))
    with pytest.raises(dmn.DecisionFailed, match="r0, r1"):
        dmn.evaluate(decisions, "t", {"score": 25})


def test_any_fails_when_matching_rules_disagree_and_priority_follows_the_output_values():
    with pytest.raises(dmn.DecisionFailed):
        dmn.evaluate(_decisions(_table("ANY", ROWS)), "t", {"score": 25})
    rows = [("> 10", '"low"'), ("> 20", '"high"')]
    decisions = _decisions(_table("PRIORITY", rows, output_values='"high","low"'))
    assert dmn.evaluate(decisions, "t", {"score": 25}) == [{"out": "high"}]


def test_a_cell_that_is_neither_feel_nor_python_is_refused_at_deploy_naming_it():
    xml = _table("FIRST", [("[1..", "1")])
    with pytest.raises(Exception) as refused:
        _decisions(xml)
    problem = refused.value.problems[0]
    assert problem.element_id == "i0" and "[1.." in problem.message


def test_the_invoice_decisions_classify_and_collect_approver_groups_through_their_requirement():
    from lxml import etree

    decisions = dmn.parse_decisions(
        etree.fromstring((INVOICE / "invoiceBusinessDecisions.dmn").read_bytes()), "invoiceBusinessDecisions.dmn"
    )
    results = dmn.evaluate(decisions, "invoice-assign-approver", {"amount": 30, "invoiceCategory": "Travel Expenses"})
    assert dmn.map_result(results, "collectEntries", "x") == ["accounting", "sales"]
    results = dmn.evaluate(decisions, "invoice-assign-approver", {"amount": 900, "invoiceCategory": "Misc"})
    assert dmn.map_result(results, "collectEntries", "x") == ["management"]


@pytest.mark.parametrize(
    ("mapping", "expected"),
    [
        ("singleEntry", "gold"),
        ("singleResult", {"level": "gold"}),
        ("collectEntries", ["gold"]),
        ("resultList", [{"level": "gold"}]),
        ("", [{"level": "gold"}]),
    ],
)
def test_a_business_rule_task_maps_its_result_into_its_result_variable(mapping, expected):
    table = (
        b'<?xml version="1.0" encoding="UTF-8"?>'
        b'<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="d" name="d" namespace="x">'
        b'<decision id="level" name="level"><decisionTable hitPolicy="FIRST">'
        b"<input><inputExpression><text>points</text></inputExpression></input>"
        b'<output name="level"/><rule><inputEntry><text>&gt;= 100</text></inputEntry>'
        b'<outputEntry><text>"gold"</text></outputEntry></rule></decisionTable></decision></definitions>'
    )
    attrs = f' camunda:mapDecisionResult="{mapping}"' if mapping else ""
    content = bpmn(
        "ranked",
        chain(f'<bpmn:businessRuleTask id="rank" camunda:decisionRef="level" camunda:resultVariable="result"{attrs}/>'),
    )
    deployed = services.definition_deploy(files=[("p.bpmn", content), ("level.dmn", table)])
    instance = services.instance_start(definition=deployed.created[0], variables={"points": 120})
    assert instance.variables["result"] == expected
    assert "level" not in instance.variables


def test_a_decision_that_fails_fails_the_start_naming_the_task():
    table = _table("UNIQUE", ROWS).replace("<definitions", '<?xml version="1.0"?><definitions', 1).encode()
    content = bpmn("failing_rules", chain('<bpmn:businessRuleTask id="rate" camunda:decisionRef="t"/>'))
    deployed = services.definition_deploy(files=[("p.bpmn", content), ("t.dmn", table)])
    with pytest.raises(CommandFailed) as failed:
        services.instance_start(definition=deployed.created[0], variables={"score": 25})
    assert failed.value.element_id == "rate" and "UNIQUE" in failed.value.cause


def test_the_three_invoice_files_deploy_unchanged():
    files = [(p.name, p.read_bytes()) for p in sorted(INVOICE.iterdir())]
    result = services.definition_deploy(files=files)
    assert {d.key for d in result.created} == {"invoice", "ReviewInvoice"}


def test_a_missing_decision_is_refused_at_deploy():
    content = bpmn("no_table", chain('<bpmn:businessRuleTask id="rate" camunda:decisionRef="nowhere"/>'))
    with pytest.raises(DefinitionInvalidError):
        services.definition_deploy(files=[("p.bpmn", content)])


def test_a_deployed_decision_is_evaluated_over_the_api(admin_user):
    from rest_framework.test import APIClient

    files = [(p.name, p.read_bytes()) for p in sorted(INVOICE.iterdir())]
    services.definition_deploy(files=files)
    client = APIClient()
    client.force_authenticate(admin_user)
    response = client.post(
        "/api/v1/decisions/invoice-assign-approver/evaluate/",
        {"variables": {"amount": 30, "invoiceCategory": "Travel Expenses"}},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["results"] == [{"result": "accounting"}, {"result": "sales"}]
    missing = client.post("/api/v1/decisions/nothing/evaluate/", {}, format="json")
    assert missing.status_code == 404 and missing["Content-Type"] == "application/problem+json"


def test_a_decision_ref_expression_is_resolved_when_the_task_runs():
    table = _table("FIRST", ROWS).replace("<definitions", '<?xml version="1.0"?><definitions', 1).encode()
    content = bpmn(
        "dynamic_ref",
        chain(
            '<bpmn:businessRuleTask id="rate" camunda:decisionRef="${table}" camunda:resultVariable="rating" '
            'camunda:mapDecisionResult="singleEntry"/>'
        ),
    )
    deployed = services.definition_deploy(files=[("p.bpmn", content), ("t.dmn", table)])
    instance = services.instance_start(definition=deployed.created[0], variables={"score": 15, "table": "t"})
    assert instance.variables["rating"] == 1


def test_a_business_rule_task_without_a_result_variable_is_reported():
    table = _table("FIRST", ROWS).replace("<definitions", '<?xml version="1.0"?><definitions', 1).encode()
    content = bpmn("merged_rules", chain('<bpmn:businessRuleTask id="rate" camunda:decisionRef="t"/>'))
    definition = services.definition_deploy(files=[("p.bpmn", content), ("t.dmn", table)]).created[0]
    [note] = [n for n in definition.compatibility if n["element_id"] == "rate" and "resultVariable" in n["feature"]]
    assert "merged into the variables" in note["effect"]
