"""Modeling in the browser: what the modeler page opens, checks, keeps as a draft and deploys.
The drawing itself is bpmn-js with the properties panel (static/src/modeler.js); here the
XML it hands over goes through the same checks and deployment as an upload."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from django.db import transaction

from bpm.exceptions import InvalidInput

from . import services
from .choices import DeploySource, ResourceKind
from .engine import camunda_forms
from .engine.bpmn.results import SourceFile
from .exceptions import DefinitionInvalidError
from .models import DecisionDefinition, ModelerDraft, ProcessDefinition, Resource

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
NEW_FORM = json.dumps(
    {
        "type": "default",
        "id": "new_form",
        "schemaVersion": 16,
        "components": [{"type": "textfield", "key": "name", "label": "Name", "validate": {"required": True}}],
    },
    indent=2,
)
MAX_XML_CHARS = 2_000_000
KINDS = ("bpmn", "dmn", "form")
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
    form: Resource | None = None  # a deployed Camunda Form, edited to redeploy its bundle


def process_key(xml: str, kind: str = "bpmn", name: str = "") -> str:
    """The first process id of a diagram, the first decision id of a DMN file, or a Camunda
    Form's id (else its file name without .form): its key."""
    if kind == "form":
        return _form_id(xml, name)
    found = (_DECISION_ID if kind == "dmn" else _PROCESS_ID).search(xml or "")
    if found is None:
        what = "decision" if kind == "dmn" else "process"
        raise InvalidInput(f"The file has no {what}.", details={"xml": [f"Add a {what}."]})
    return found.group(1)


def _form_id(text: str, name: str = "") -> str:
    try:
        schema = json.loads(text or "")
    except ValueError:
        schema = None
    if not isinstance(schema, dict):
        raise InvalidInput("A Camunda Form is a JSON object.", details={"xml": ["Not a form-js schema."]})
    if isinstance(schema.get("id"), str) and schema["id"]:
        return schema["id"]
    if name:
        return name.removesuffix(".form")
    raise InvalidInput("Give the form an id.", details={"xml": ["A form needs an id (its key)."]})


def modeler_open(
    *,
    user,
    kind: str = "bpmn",
    definition: ProcessDefinition | None = None,
    decision: DecisionDefinition | None = None,
    form: Resource | None = None,
    key: str = "",
) -> Opened:
    """A deployed version to edit (the designer's draft of its key instead, when there is one),
    a draft by key, or a new diagram, decision table or form."""
    if form is not None:
        key = _form_id(form.content, form.name)
        draft = ModelerDraft.objects.filter(user=user, kind="form", key=key).first()
        return Opened(draft.xml if draft else form.content, key, "form", draft=draft, form=form)
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
    if kind == "form":
        return Opened(NEW_FORM, "new_form", "form")
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


def draft_save(
    *, user, xml: str, kind: str = "bpmn", opened_from: ProcessDefinition | None = None, name: str = ""
) -> ModelerDraft:
    """Keep the designer's diagram as their draft of its key."""
    xml, kind = _checked_xml(xml), _kind(kind)
    draft, _ = ModelerDraft.objects.update_or_create(
        user=user, kind=kind, key=process_key(xml, kind, name), defaults={"xml": xml, "opened_from": opened_from}
    )
    return draft


def drafts_of(user):
    return ModelerDraft.objects.filter(user=user).select_related("opened_from")


@dataclass
class Checked:
    problems: list[dict]
    notes: list[dict]


def modeler_check(*, xml: str, kind: str = "bpmn", name: str = "") -> Checked:
    """The deploy problems and the compatibility report of a drawn diagram, nothing stored."""
    kind = _kind(kind)
    key = process_key(_checked_xml(xml), kind, name)
    if kind == "form":
        problems = camunda_forms.read_form(SourceFile(f"{key}.form", xml.encode())).problems
        return Checked(problems=[p.as_dict() for p in problems], notes=[])
    try:
        result = services.definition_check(files=[(f"{key}.{kind}", xml.encode())])
    except DefinitionInvalidError as error:
        return Checked(problems=list(error.details or []), notes=[])
    return Checked(problems=[], notes=list(result.compatibility))


def modeler_deploy(*, user, xml: str, kind: str = "bpmn", with_process: str = "", name: str = ""):
    """Deploy the drawn diagram or decisions as the next version of its key; a form goes with
    the bundle of the process ``with_process`` (its diagram, tables and other forms, this one
    replacing the form of the same id or file). The draft goes once deployed."""
    kind = _kind(kind)
    key = process_key(_checked_xml(xml), kind, name)
    files = _form_bundle(key, name, xml, with_process) if kind == "form" else [(f"{key}.{kind}", xml.encode())]
    with transaction.atomic():
        result = services.definition_deploy(files=files, user=user, source=DeploySource.WEB)
        ModelerDraft.objects.filter(user=user, kind=kind, key=key).delete()
    return result


def _form_bundle(form_id: str, form_name: str, text: str, process: str) -> list[tuple[str, bytes]]:
    """The files of the process's active version's deployment, with this form in place of the
    form of the same id or file name (or added, named after its id)."""
    definition = ProcessDefinition.objects.filter(key=process, is_active=True).select_related("deployment").first()
    if definition is None:
        raise InvalidInput(
            "Choose the process this form is deployed with.", details={"with_process": ["An active process key."]}
        )
    files, name = {}, form_name or f"{form_id}.form"
    for resource in definition.deployment.resources.all():
        if resource.kind == ResourceKind.FORM and (resource.name == form_name or _same_form(resource.content, form_id)):
            name = resource.name  # kept: a formKey may name the file
            continue
        files[resource.name] = resource.content.encode()
    files[name] = text.encode()
    return list(files.items())


def _same_form(content: str, form_id: str) -> bool:
    try:
        return _form_id(content, "") == form_id
    except InvalidInput:
        return False


def deployed_forms():
    """The Camunda Forms of each process's active version (the modeler lists them to open)."""
    active = ProcessDefinition.objects.filter(is_active=True).values("deployment_id")
    return Resource.objects.filter(kind=ResourceKind.FORM, deployment_id__in=active).order_by("name")


def latest_decisions():
    """Each decision key's newest version (the modeler lists them to open)."""
    newest: dict[str, DecisionDefinition] = {}
    for decision in DecisionDefinition.objects.select_related("resource").order_by("key", "-version"):
        newest.setdefault(decision.key, decision)
    return list(newest.values())
