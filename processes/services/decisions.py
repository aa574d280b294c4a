"""Evaluating a deployed decision directly (Camunda's decision-definition evaluate)."""

from __future__ import annotations

from typing import Any

from .. import variables as variable_rules
from ..engine import dmn
from ..engine.bpmn.xml import read_xml
from ..engine.parser import SourceFile
from ..exceptions import CommandFailed, DefinitionNotFound
from ..models import DecisionDefinition

_PARSED: dict[str, dict] = {}  # resource checksum -> decisions (versions never change)


def decision_evaluate(*, key: str, variables: dict[str, Any] | None = None, version: int | None = None) -> list[dict]:
    """The result list of the latest (or the given) version of a decision over these variables;
    a decision that cannot decide (a UNIQUE conflict, a failing cell) is a CommandFailed (422)."""
    variable_rules.check(variables)
    found = DecisionDefinition.objects.filter(key=key).select_related("resource")
    decision = (found.filter(version=version) if version else found).order_by("-version").first()
    if decision is None:
        raise DefinitionNotFound(f"No deployed decision with key '{key}'")
    decisions = _parsed(decision)
    try:
        return dmn.evaluate(decisions, key, dict(variables or {}))
    except Exception as exc:  # a decision error, a cell's failure or its time budget
        raise CommandFailed(str(exc), element_id=key) from exc


def _parsed(decision: DecisionDefinition) -> dict:
    """The decisions of a version's DMN file, parsed once per file content."""
    decisions = _PARSED.get(decision.checksum)
    if decisions is None:
        resource = decision.resource
        root = read_xml(SourceFile(resource.name, resource.content.encode())).getroot()
        decisions = dmn.parse_decisions(root, resource.name)
        if len(_PARSED) > 256:
            _PARSED.clear()
        _PARSED[decision.checksum] = decisions
    return decisions


def bound_decisions(key: str, binding: dict) -> dict | None:
    """The decisions a business rule task with camunda:decisionRefBinding evaluates now: the
    newest version (latest), or the version it names; None when none was deployed."""
    found = DecisionDefinition.objects.filter(key=key).select_related("resource").order_by("-version")
    if binding.get("binding") == "version":
        version = str(binding.get("version") or "").strip()
        chosen = found.filter(version=int(version)).first() if version.isdigit() else None
        if chosen is None:
            raise dmn.DecisionFailed(
                f"The business rule task needs version {version} of decision '{key}', and none is deployed"
            )
        return _parsed(chosen)
    chosen = found.first()
    return _parsed(chosen) if chosen is not None else None
