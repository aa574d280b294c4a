"""DMN 1.3 decision tables as Camunda 7 evaluates them, for Camunda-dialect deployments.

Every decision of a file is read (not only the first), with its decision requirements
(``requiredDecision``: those decisions are evaluated first and their results become inputs),
ids are optional where DMN makes them optional, cells are FEEL (``feel.py``), and all hit
policies are honoured: UNIQUE (several matches fail), FIRST, PRIORITY and OUTPUT ORDER (by the
order of the output values), ANY (matches must agree), RULE ORDER, and COLLECT with SUM, MIN,
MAX or COUNT. A business rule task maps the result as ``camunda:mapDecisionResult`` says
(``singleEntry``, ``singleResult``, ``collectEntries``, ``resultList``) into
``camunda:resultVariable``.

A cell that is not FEEL but a Python condition (``1000 <= ? < 10000``, as SpiffWorkflow's
tables are written) is evaluated as Python in the restricted environment; the compatibility
report names it. A cell that is neither is refused at deploy with its file, id and line.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from . import expressions, feel, sandbox, scripting
from .bpmn.results import DefinitionInvalid, Problem


@dataclass
class Cell:
    text: str
    element_id: str
    line: int | None
    node: Any = None  # FEEL tree, or None when the cell is Python
    python: str = ""  # the Python form of a cell that is not FEEL

    @property
    def is_python(self) -> bool:
        return self.node is None and bool(self.python)


@dataclass
class Rule:
    rule_id: str
    inputs: list[Cell]
    outputs: list[Cell]


@dataclass
class Output:
    name: str
    values: list[Any]  # the allowed values in order (PRIORITY, OUTPUT ORDER)


@dataclass
class Decision:
    decision_id: str
    name: str
    hit_policy: str = "UNIQUE"
    aggregation: str = ""
    inputs: list[Cell] = field(default_factory=list)
    outputs: list[Output] = field(default_factory=list)
    rules: list[Rule] = field(default_factory=list)
    required: list[str] = field(default_factory=list)
    file: str = ""


class DecisionFailed(Exception):
    """A decision cannot give a result (e.g. two rules match a UNIQUE table)."""


def _local(el) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def _children(el, name: str) -> list:
    return [c for c in el if _local(c) == name]


def _text(el) -> str:
    if el is None:
        return ""
    found = [c for c in el if _local(c) == "text"]
    return (found[0].text or "").strip() if found else ""


def parse_decisions(root: etree._Element, filename: str) -> dict[str, Decision]:
    """Every decision table of a DMN file; raises DefinitionInvalid naming each bad cell."""
    decisions: dict[str, Decision] = {}
    problems: list[Problem] = []
    for el in root:
        if _local(el) != "decision":
            continue
        decision = Decision(el.get("id") or "", el.get("name") or "", file=filename)
        for requirement in el.iter():
            if _local(requirement) == "requiredDecision" and requirement.get("href"):
                decision.required.append(requirement.get("href").lstrip("#"))
        tables = _children(el, "decisionTable")
        if not tables:
            problems.append(
                Problem(
                    "Only decision tables are supported (this decision has a literal expression or none)",
                    file=filename,
                    element_id=decision.decision_id,
                    line=el.sourceline,
                )
            )
            continue
        table = tables[0]
        decision.hit_policy = (table.get("hitPolicy") or "UNIQUE").upper().replace("_", " ")
        decision.aggregation = (table.get("aggregation") or "").upper()
        for input_el in _children(table, "input"):
            expression = _children(input_el, "inputExpression")
            expression = expression[0] if expression else None
            decision.inputs.append(
                _cell(_text(expression), expression if expression is not None else input_el, filename, problems, True)
            )
        for output_el in _children(table, "output"):
            allowed = _children(output_el, "outputValues")
            values = []
            if allowed and _text(allowed[0]):
                try:
                    tests = feel.compile_unary_tests(_text(allowed[0]))
                    values = [feel.evaluate(t.children[0], {}) for t in tests.children if t.kind == "test"]
                except feel.FeelError:
                    values = []
            decision.outputs.append(Output(output_el.get("name") or output_el.get("id") or "", values))
        for number, rule_el in enumerate(_children(table, "rule"), 1):
            rule_id = rule_el.get("id") or f"rule {number}"
            inputs = [_cell(_text(e), e, filename, problems, False, rule_id) for e in _children(rule_el, "inputEntry")]
            outputs = [_cell(_text(e), e, filename, problems, True, rule_id) for e in _children(rule_el, "outputEntry")]
            decision.rules.append(Rule(rule_id, inputs, outputs))
        decisions[decision.decision_id] = decision
    for decision in decisions.values():
        for required in decision.required:
            if required not in decisions:
                problems.append(
                    Problem(
                        f"Decision '{decision.decision_id}' requires decision '{required}', which this file lacks",
                        file=filename,
                        element_id=decision.decision_id,
                    )
                )
    if problems:
        raise DefinitionInvalid(problems)
    return decisions


def _cell(text: str, el, filename: str, problems: list, expression: bool, rule_id: str = "") -> Cell:
    cell = Cell(text, el.get("id") or rule_id, el.sourceline)
    try:
        cell.node = feel.compile_expression(text) if expression else feel.compile_unary_tests(text)
        feel.check_functions(cell.node)
        return cell
    except feel.FeelError as feel_error:
        if not text:
            return cell
        python = _python_form(text, expression)
        try:
            scripting.compile_expression(expressions.to_python(python))
        except Exception:
            problems.append(
                Problem(
                    f"Cell '{text}' is neither FEEL ({feel_error}) nor a Python condition",
                    file=filename,
                    element_id=cell.element_id,
                    line=cell.line,
                )
            )
            return cell
        cell.node, cell.python = None, python
        return cell


def _python_form(text: str, expression: bool) -> str:
    if expression:
        return text
    if "?" in text:
        return text.replace("?", "dmn_input")
    if text[:2] in ("<=", ">=", "==", "!=") or text[:1] in ("<", ">"):
        return f"dmn_input {text}"
    return f"dmn_input == ({text})"


def python_cells(decisions: dict[str, Decision]) -> list[Cell]:
    """Cells evaluated as Python (reported in the compatibility report)."""
    cells = []
    for decision in decisions.values():
        cells += [c for c in decision.inputs if c.is_python]
        for rule in decision.rules:
            cells += [c for c in rule.inputs + rule.outputs if c.is_python]
    return cells


# ---------------------------------------------------------------------------
# Evaluation


def _expression_value(cell: Cell, context: dict):
    if cell.is_python:
        return scripting.evaluate(expressions.to_python(cell.python), dict(context))
    if cell.node is None:
        return None
    return feel.to_python(feel.evaluate(cell.node, context))


def _input_matches(cell: Cell, context: dict, value) -> bool:
    if cell.is_python:
        return bool(scripting.evaluate(expressions.to_python(cell.python), {**context, "dmn_input": value}))
    return feel.unary_tests_match(cell.node, context, value)


def evaluate(decisions: dict[str, Decision], decision_id: str, variables: dict) -> list[dict]:
    """The decision's result list (one dict of output name -> value per matched rule, or
    one aggregated entry), after its required decisions; within one script time budget."""
    with sandbox.budget():
        return _evaluate(decisions, decision_id, dict(variables), set())


def _evaluate(decisions, decision_id, context, seen) -> list[dict]:
    if decision_id in seen:
        raise DecisionFailed(f"Decision '{decision_id}' requires itself")
    decision = decisions.get(decision_id)
    if decision is None:
        raise DecisionFailed(f"No decision '{decision_id}' is deployed")
    for required in decision.required:
        results = _evaluate(decisions, required, context, seen | {decision_id})
        if len(results) == 1:
            context.update(results[0])
        elif results:
            for name in results[0]:
                context[name] = [r.get(name) for r in results]
    values = [_expression_value(cell, context) for cell in decision.inputs]
    matched = [
        rule
        for rule in decision.rules
        if all(_input_matches(cell, context, value) for cell, value in zip(rule.inputs, values, strict=False))
    ]
    results = [
        {
            output.name: _expression_value(cell, context)
            for output, cell in zip(decision.outputs, rule.outputs, strict=False)
        }
        for rule in matched
    ]
    return _apply_hit_policy(decision, matched, results)


def _priority(decision: Decision, result: dict) -> tuple:
    ranks = []
    for output in decision.outputs:
        value = result.get(output.name)
        values = [feel.to_python(v) for v in output.values]
        ranks.append(values.index(value) if value in values else len(values))
    return tuple(ranks)


def _apply_hit_policy(decision: Decision, matched: list[Rule], results: list[dict]) -> list[dict]:
    policy = decision.hit_policy
    if policy == "UNIQUE":
        if len(results) > 1:
            raise DecisionFailed(
                f"Hit policy UNIQUE of decision '{decision.decision_id}': rules "
                f"{', '.join(r.rule_id for r in matched)} all match"
            )
        return results
    if policy == "FIRST":
        return results[:1]
    if policy == "ANY":
        if any(r != results[0] for r in results[1:]):
            raise DecisionFailed(
                f"Hit policy ANY of decision '{decision.decision_id}': matching rules give different outputs"
            )
        return results[:1]
    if policy == "PRIORITY":
        return sorted(results, key=lambda r: _priority(decision, r))[:1]
    if policy == "OUTPUT ORDER":
        return sorted(results, key=lambda r: _priority(decision, r))
    if policy == "RULE ORDER":
        return results
    if policy == "COLLECT":
        if not decision.aggregation:
            return results
        if len(decision.outputs) != 1:
            raise DecisionFailed(f"Aggregation needs exactly one output (decision '{decision.decision_id}')")
        name = decision.outputs[0].name
        values = [r[name] for r in results if r.get(name) is not None]
        aggregate = {
            "SUM": lambda v: sum(v) if v else None,
            "MIN": lambda v: min(v) if v else None,
            "MAX": lambda v: max(v) if v else None,
            "COUNT": len,
        }.get(decision.aggregation)
        if aggregate is None:
            raise DecisionFailed(f"Unknown aggregation {decision.aggregation}")
        return [{name: aggregate(values)}]
    raise DecisionFailed(f"Unknown hit policy {policy} (decision '{decision.decision_id}')")


def map_result(results: list[dict], mapping: str, decision_id: str):
    """camunda:mapDecisionResult over a result list (the default is resultList)."""
    mapping = mapping or "resultList"
    if mapping == "resultList":
        return results
    if mapping == "singleResult":
        if len(results) > 1:
            raise DecisionFailed(f"singleResult: decision '{decision_id}' gave {len(results)} results")
        return results[0] if results else None
    if mapping == "singleEntry":
        if len(results) > 1 or (results and len(results[0]) > 1):
            raise DecisionFailed(f"singleEntry: decision '{decision_id}' gave more than one value")
        return next(iter(results[0].values())) if results else None
    if mapping == "collectEntries":
        if results and len(results[0]) > 1:
            raise DecisionFailed(f"collectEntries: decision '{decision_id}' has more than one output")
        return [next(iter(r.values())) for r in results]
    raise DecisionFailed(f"Unknown mapDecisionResult '{mapping}'")


# Registered by the processes app: (decision id, binding) -> the decisions of the DMN file of the
# version the binding names now (None: none deployed on its own; the caller's bundled copy).
_bound_decisions: dict[str, Callable[[str, dict], dict[str, Decision] | None]] = {}
DECISION_BINDINGS = ("latest", "deployment", "version")


def register_decision_resolver(resolve: Callable[[str, dict], dict[str, Decision] | None]) -> None:
    _bound_decisions["resolve"] = resolve


class DecisionEngine:
    """What a SpiffWorkflow business rule task calls: ``result(task)`` gives the data to merge.

    ``binding`` is camunda:decisionRefBinding with its version: ``latest`` (the default) finds
    the newest deployed version when the task runs, as Camunda does; ``deployment`` uses the
    decision deployed with the process; ``version`` that version."""

    def __init__(
        self,
        decisions: dict[str, Decision],
        decision_id: str,
        result_variable: str = "",
        mapping: str = "",
        binding: dict | None = None,
    ):
        self.decisions = decisions
        self.decision_id = decision_id
        self.result_variable = result_variable
        self.mapping = mapping
        self.binding = binding or {"binding": "latest"}

    def _decisions(self, decision_id: str, data: dict) -> dict[str, Decision]:
        binding = dict(self.binding)
        if binding.get("binding") == "deployment" or "resolve" not in _bound_decisions:
            return self.decisions
        version = binding.get("version") or ""
        if "${" in version or "#{" in version:
            binding["version"] = str(expressions.evaluate_attribute(version, data, scripting.evaluate))
        return _bound_decisions["resolve"](decision_id, binding) or self.decisions

    def result(self, task) -> dict:
        decision_id = self.decision_id
        if "${" in decision_id or "#{" in decision_id:  # camunda:decisionRef="${...}"
            decision_id = str(expressions.evaluate_attribute(decision_id, dict(task.data), scripting.evaluate))
        results = evaluate(self._decisions(decision_id, dict(task.data)), decision_id, task.data)
        # the run reports what was decided (the decision history); not part of the stored state
        evaluations = task.workflow.top_workflow.__dict__.setdefault("bpm_decisions", [])
        evaluations.append({"element_id": task.task_spec.bpmn_id, "decision": decision_id, "results": results})
        if self.result_variable:
            return {self.result_variable: map_result(results, self.mapping, decision_id)}
        # Without a result variable the outputs are merged into the data (our behaviour before
        # resultVariable was honoured; Camunda keeps nothing): one match as its outputs, several
        # as a list per output.
        if len(results) == 1:
            return dict(results[0])
        merged: dict = {}
        for result in results:
            for name, value in result.items():
                merged.setdefault(name, []).append(value)
        return merged
