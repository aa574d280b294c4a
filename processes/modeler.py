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
from .models import ModelerDraft, ProcessDefinition

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
MAX_XML_CHARS = 2_000_000
_PROCESS_ID = re.compile(r"<(?:\w+:)?process\b[^>]*\bid=\"([^\"]+)\"")


@dataclass
class Opened:
    xml: str
    key: str
    definition: ProcessDefinition | None = None
    draft: ModelerDraft | None = None  # when the designer's draft is what opened


def process_key(xml: str) -> str:
    """The first process id of a diagram (the key it deploys under)."""
    found = _PROCESS_ID.search(xml or "")
    if found is None:
        raise InvalidInput(
            "The diagram has no process.", details={"xml": ["Draw a process (a pool or a plain diagram)."]}
        )
    return found.group(1)


def modeler_open(*, user, definition: ProcessDefinition | None = None, key: str = "") -> Opened:
    """A deployed version to edit (the designer's draft of its key instead, when there is one),
    a draft by key, or a new diagram."""
    if definition is not None:
        draft = ModelerDraft.objects.filter(user=user, key=definition.key).first()
        if draft is not None:
            return Opened(draft.xml, definition.key, definition, draft)
        return Opened(definition.xml, definition.key, definition)
    if key:
        draft = ModelerDraft.objects.filter(user=user, key=key).first()
        if draft is not None:
            return Opened(draft.xml, key, draft.opened_from, draft)
    return Opened(NEW_DIAGRAM.format(key="new_process", name="New process"), "new_process")


def _checked_xml(xml: str) -> str:
    if not xml or not xml.strip():
        raise InvalidInput("Nothing to save: the diagram is empty.", details={"xml": ["Draw something first."]})
    if len(xml) > MAX_XML_CHARS:
        raise InvalidInput("The diagram is too large.", details={"xml": [f"At most {MAX_XML_CHARS:,} characters."]})
    return xml


def draft_save(*, user, xml: str, opened_from: ProcessDefinition | None = None) -> ModelerDraft:
    """Keep the designer's diagram as their draft of its process key."""
    xml = _checked_xml(xml)
    draft, _ = ModelerDraft.objects.update_or_create(
        user=user, key=process_key(xml), defaults={"xml": xml, "opened_from": opened_from}
    )
    return draft


def drafts_of(user):
    return ModelerDraft.objects.filter(user=user).select_related("opened_from")


@dataclass
class Checked:
    problems: list[dict]
    notes: list[dict]


def modeler_check(*, xml: str) -> Checked:
    """The deploy problems and the compatibility report of a drawn diagram, nothing stored."""
    key = process_key(_checked_xml(xml))
    try:
        result = services.definition_check(files=[(f"{key}.bpmn", xml.encode())])
    except DefinitionInvalidError as error:
        return Checked(problems=list(error.details or []), notes=[])
    return Checked(problems=[], notes=list(result.compatibility))


def modeler_deploy(*, user, xml: str):
    """Deploy the drawn diagram as the next version of its key; the draft goes once deployed."""
    key = process_key(_checked_xml(xml))
    with transaction.atomic():
        result = services.definition_deploy(files=[(f"{key}.bpmn", xml.encode())], user=user, source=DeploySource.WEB)
        ModelerDraft.objects.filter(user=user, key=key).delete()
    return result
