"""Modeling in the browser: what the modeler page opens, checks, keeps as a draft and deploys.
The drawing itself is bpmn-js with the properties panel (static/src/modeler.js); here the
XML it hands over goes through the same checks and deployment as an upload."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db import transaction

from bpm.exceptions import InvalidInput

from . import services
from .choices import DeploySource
from .exceptions import DefinitionInvalidError
from .models import DecisionDefinition, ModelerDraft, ProcessDefinition

NEW_DIAGRAM = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="definitions" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="{key}" name="{name}" isExecutable="true">
    <bpmn:startEvent id="start" name="Start"/>
  </bpmn:process>
  <bpmndi:BPMNDiagram id="diagram"><bpmndi:BPMNPlane id="plane" bpmnElement="{key}">
    <bpmndi:BPMNShape id="start_di" bpmnElement="start"><dc:Bounds x="180" y="160" width="36" height="36"/></bpmndi:BPMNShape>
  </bpmndi:BPMNPlane></bpmndi:BPMNDiagram>
</bpmn:definitions>
"""
NEW_DECISION = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" xmlns:dmndi="https://www.omg.org/spec/DMN/20191111/DMNDI/"
  xmlns:dc="http://www.omg.org/spec/DMN/20180521/DC/" id="definitions" name="Decisions" namespace="http://camunda.org/schema/1.0/dmn">
  <decision id="{key}" name="{name}">
    <decisionTable id="table" hitPolicy="FIRST">
      <input id="input_1" label="Amount"><inputExpression id="input_expression_1" typeRef="number"><text>amount</text></inputExpression></input>
      <output id="output_1" label="Level" name="level" typeRef="string"/>
      <rule id="rule_1"><inputEntry id="entry_1"><text>&gt; 1000</text></inputEntry><outputEntry id="entry_2"><text>"high"</text></outputEntry></rule>
      <rule id="rule_2"><inputEntry id="entry_3"><text>-</text></inputEntry><outputEntry id="entry_4"><text>"low"</text></outputEntry></rule>
    </decisionTable>
  </decision>
  <dmndi:DMNDI><dmndi:DMNDiagram id="drd"><dmndi:DMNShape id="shape" dmnElementRef="{key}">
    <dc:Bounds height="80" width="180" x="160" y="100"/></dmndi:DMNShape></dmndi:DMNDiagram></dmndi:DMNDI>
</definitions>
"""
MAX_XML_CHARS = 2_000_000
KINDS = ("bpmn", "dmn")
_PROCESS_ID = re.compile(r"<(?:\w+:)?process\b[^>]*\bid=\"([^\"]+)\"")
_DECISION_ID = re.compile(r"<(?:\w+:)?decision\b[^>]*\bid=\"([^\"]+)\"")


@dataclass
class Opened:
    xml: str
    key: str
    kind: str = "bpmn"
    definition: ProcessDefinition | None = None
    decision: DecisionDefinition | None = None
    draft: ModelerDraft | None = None  # when the designer's draft is what opened


def process_key(xml: str, kind: str = "bpmn") -> str:
    """The first process id of a diagram, or the first decision id of a DMN file (its key)."""
    found = (_DECISION_ID if kind == "dmn" else _PROCESS_ID).search(xml or "")
    if found is None:
        what = "decision" if kind == "dmn" else "process"
        raise InvalidInput(f"The file has no {what}.", details={"xml": [f"Add a {what}."]})
    return found.group(1)


def modeler_open(
    *,
    user,
    kind: str = "bpmn",
    definition: ProcessDefinition | None = None,
    decision: DecisionDefinition | None = None,
    key: str = "",
) -> Opened:
    """A deployed version to edit (the designer's draft of its key instead, when there is one),
    a draft by key, or a new diagram or decision table."""
    if definition is not None or decision is not None:
        kind = "bpmn" if definition is not None else "dmn"
        key = definition.key if definition is not None else decision.key
        draft = ModelerDraft.objects.filter(user=user, kind=kind, key=key).first()
        xml = draft.xml if draft else (definition.xml if definition is not None else decision.resource.content)
        return Opened(xml, key, kind, definition, decision, draft)
    if key:
        draft = ModelerDraft.objects.filter(user=user, kind=kind, key=key).first()
        if draft is not None:
            return Opened(draft.xml, key, kind, draft.opened_from, None, draft)
    if kind == "dmn":
        return Opened(NEW_DECISION.format(key="new_decision", name="New decision"), "new_decision", "dmn")
    return Opened(NEW_DIAGRAM.format(key="new_process", name="New process"), "new_process")


def _checked_xml(xml: str) -> str:
    if not xml or not xml.strip():
        raise InvalidInput("Nothing to save: the diagram is empty.", details={"xml": ["Draw something first."]})
    if len(xml) > MAX_XML_CHARS:
        raise InvalidInput("The diagram is too large.", details={"xml": [f"At most {MAX_XML_CHARS:,} characters."]})
    return xml


def _kind(kind: str) -> str:
    if kind not in KINDS:
        raise InvalidInput(f"Unknown kind '{kind}'", details={"kind": ["bpmn or dmn."]})
    return kind


def draft_save(*, user, xml: str, kind: str = "bpmn", opened_from: ProcessDefinition | None = None) -> ModelerDraft:
    """Keep the designer's diagram as their draft of its key."""
    xml, kind = _checked_xml(xml), _kind(kind)
    draft, _ = ModelerDraft.objects.update_or_create(
        user=user, kind=kind, key=process_key(xml, kind), defaults={"xml": xml, "opened_from": opened_from}
    )
    return draft


def drafts_of(user):
    return ModelerDraft.objects.filter(user=user).select_related("opened_from")


@dataclass
class Checked:
    problems: list[dict]
    notes: list[dict]


def modeler_check(*, xml: str, kind: str = "bpmn") -> Checked:
    """The deploy problems and the compatibility report of a drawn diagram, nothing stored."""
    kind = _kind(kind)
    key = process_key(_checked_xml(xml), kind)
    try:
        result = services.definition_check(files=[(f"{key}.{kind}", xml.encode())])
    except DefinitionInvalidError as error:
        return Checked(problems=list(error.details or []), notes=[])
    return Checked(problems=[], notes=list(result.compatibility))


def modeler_deploy(*, user, xml: str, kind: str = "bpmn"):
    """Deploy the drawn diagram or decisions as the next version of its key; the draft goes
    once deployed."""
    kind = _kind(kind)
    key = process_key(_checked_xml(xml), kind)
    with transaction.atomic():
        result = services.definition_deploy(files=[(f"{key}.{kind}", xml.encode())], user=user, source=DeploySource.WEB)
        ModelerDraft.objects.filter(user=user, kind=kind, key=key).delete()
    return result


def latest_decisions():
    """Each decision key's newest version (the modeler lists them to open)."""
    newest: dict[str, DecisionDefinition] = {}
    for decision in DecisionDefinition.objects.select_related("resource").order_by("key", "-version"):
        newest.setdefault(decision.key, decision)
    return list(newest.values())
