"""Element metadata: what Camunda Modeler writes that SpiffWorkflow ignores, read once at deploy."""

from __future__ import annotations

import re

from lxml import etree

from ..expressions import SCRIPT_KEY
from .constants import BPMN_NS, CAMUNDA_NS, NS, SPIFF_NS
from .dialects import has_connector
from .preprocess import _q

_CAMUNDA_TASK_ATTRS = (
    "assignee",
    "candidateUsers",
    "candidateGroups",
    "dueDate",
    "followUpDate",
    "priority",
    "formKey",
    "formRef",
    # how a service task is implemented: Java (class, delegateExpression, expression) or external
    "class",
    "delegateExpression",
    "expression",
    "type",
    "topic",
    "taskPriority",
    # which version a call activity runs, and the tag a process version carries
    "calledElementBinding",
    "calledElementVersion",
    "calledElementVersionTag",
    "versionTag",
    "initiator",
    "historyTimeToLive",
)


def _documentation(el: etree._Element) -> str:
    return "\n".join((d.text or "").strip() for d in el.findall(_q("documentation"))).strip()


def element_metadata(process: etree._Element) -> dict[str, dict]:
    """Per element id: type, name, lane, documentation and the Camunda/Spiff extension values."""
    lanes: dict[str, str] = {}
    for lane in process.iter(_q("lane")):
        for ref in lane.findall(_q("flowNodeRef")):
            if ref.text:
                lanes[ref.text.strip()] = lane.get("name") or lane.get("id")
    metadata: dict[str, dict] = {}
    for el in process.iter():
        if not isinstance(el.tag, str) or etree.QName(el).namespace != BPMN_NS or not el.get("id"):
            continue
        kind = etree.QName(el).localname
        if kind in ("lane", "laneSet", "flowNodeRef", "documentation", "extensionElements"):
            continue
        entry: dict = {"type": kind, "name": el.get("name") or ""}
        if el.get("id") in lanes:
            entry["lane"] = lanes[el.get("id")]
        doc = _documentation(el)
        if doc:
            entry["documentation"] = doc
        camunda = {attr: el.get(f"{{{CAMUNDA_NS}}}{attr}") for attr in _CAMUNDA_TASK_ATTRS}
        camunda = {k: v for k, v in camunda.items() if v is not None}
        io = el.find(f"{_q('extensionElements')}/{{{CAMUNDA_NS}}}inputOutput")
        if io is not None:
            camunda["inputOutput"] = {
                "inputs": {
                    p.get("name"): (p.text or "").strip() for p in io.findall(f"{{{CAMUNDA_NS}}}inputParameter")
                },
                "outputs": {
                    p.get("name"): (p.text or "").strip() for p in io.findall(f"{{{CAMUNDA_NS}}}outputParameter")
                },
            }
        props = el.findall(f"{_q('extensionElements')}/{{{CAMUNDA_NS}}}properties/{{{CAMUNDA_NS}}}property")
        if props:
            camunda["properties"] = {p.get("name"): p.get("value") for p in props}
        fields = el.findall(f"{_q('extensionElements')}/{{{CAMUNDA_NS}}}formData/{{{CAMUNDA_NS}}}formField")
        if fields:
            camunda["formFields"] = [_form_field(f) for f in fields]
        if camunda:
            entry["camunda"] = camunda
        spiff_props = el.findall(f"{_q('extensionElements')}/{{{SPIFF_NS}}}properties/{{{SPIFF_NS}}}property")
        if spiff_props:
            entry["spiff"] = {"properties": {p.get("name"): p.get("value") for p in spiff_props}}
        spiff_instructions = el.find(f"{_q('extensionElements')}/{{{SPIFF_NS}}}instructionsForEndUser")
        if spiff_instructions is not None and (spiff_instructions.text or "").strip():
            entry.setdefault("spiff", {})["instructionsForEndUser"] = spiff_instructions.text.strip()
        connector = _connector_metadata(el)
        if connector:
            entry["connector"] = connector
        timer = el.find(_q("timerEventDefinition"))
        if timer is not None:
            for timer_kind in ("timeCycle", "timeDate", "timeDuration"):
                value = timer.find(_q(timer_kind))
                if value is not None and (value.text or "").strip():
                    entry["timer"] = {"kind": timer_kind, "expression": value.text.strip()}
        if kind == "startEvent":
            # the process's own start, or an event subprocess's (its scope is the subprocess)
            entry["scope"] = el.getparent().get("id") or ""
            condition = el.find(f"{_q('conditionalEventDefinition')}/{_q('condition')}")
            if condition is not None and (condition.text or "").strip():
                entry["condition"] = condition.text.strip()
        if kind in ("sequenceFlow",):
            entry["source"] = el.get("sourceRef")
            entry["target"] = el.get("targetRef")
        for definition_tag, key, ref_tag in (
            ("messageEventDefinition", "message", "message"),
            ("signalEventDefinition", "signal", "signal"),
        ):
            found = el.find(_q(definition_tag))
            if found is not None and found.get(f"{ref_tag}Ref"):
                ref = found.get(f"{ref_tag}Ref").split(":")[-1]  # a QName ('tns:id') names the id
                named = el.getroottree().getroot().xpath(f"//bpmn:{ref_tag}[@id=$r]", namespaces=NS, r=ref)
                entry[key] = (named[0].get("name") or ref) if named else ref
        if kind == "receiveTask" and el.get("messageRef"):
            ref = el.get("messageRef").split(":")[-1]
            named = el.getroottree().getroot().xpath("//bpmn:message[@id=$r]", namespaces=NS, r=ref)
            entry["message"] = (named[0].get("name") or ref) if named else ref
        metadata[el.get("id")] = entry
    return metadata


def _parameter_value(param: etree._Element):
    """A camunda:inputParameter's value: text, a camunda:map / camunda:list, or a camunda:script
    (checked at deploy to be one Python expression)."""
    ns = f"{{{CAMUNDA_NS}}}"
    script = param.find(f"{ns}script")
    if script is not None:
        return {SCRIPT_KEY: (script.text or "").strip()}
    mapping = param.find(f"{ns}map")
    if mapping is not None:
        return {e.get("key"): (e.text or "").strip() for e in mapping.findall(f"{ns}entry")}
    listing = param.find(f"{ns}list")
    if listing is not None:
        return [(v.text or "").strip() for v in listing.findall(f"{ns}value")]
    return (param.text or "").strip()


def _connector_metadata(el: etree._Element) -> dict:
    """Connector settings of a service task: id, inputs, outputs and retries."""
    if etree.QName(el).localname != "serviceTask" or not has_connector(el):
        return {}
    ns = f"{{{CAMUNDA_NS}}}"
    result: dict = {"id": "http-connector", "inputs": {}, "outputs": {}}
    connector = el.find(f"{_q('extensionElements')}/{ns}connector")
    if connector is not None:
        result["id"] = (connector.findtext(f"{ns}connectorId") or "http-connector").strip()
        io = connector.find(f"{ns}inputOutput")
        if io is not None:
            result["inputs"] = {p.get("name"): _parameter_value(p) for p in io.findall(f"{ns}inputParameter")}
            result["outputs"] = {p.get("name"): _parameter_value(p) for p in io.findall(f"{ns}outputParameter")}
    operator = el.find(f"{_q('extensionElements')}/{{{SPIFF_NS}}}serviceTaskOperator")
    if operator is not None:  # SpiffArena's service task: the operator is the connector
        result["id"] = operator.get("id") or result["id"]
        result["inputs"] = {
            p.get("id"): (p.get("value") or "") for p in operator.iter(f"{{{SPIFF_NS}}}parameter") if p.get("id")
        }
        if operator.get("resultVariable"):
            result["result_variable"] = operator.get("resultVariable")
    for nsx in (CAMUNDA_NS, SPIFF_NS):
        for prop in el.iterfind(f"{_q('extensionElements')}/{{{nsx}}}properties/{{{nsx}}}property"):
            name = prop.get("name") or ""
            if name == "connector":
                result["id"] = prop.get("value") or result["id"]
            elif name.startswith("error."):  # error.404=NOT_FOUND: that failure throws a BPMN error
                result.setdefault("errors", {})[name[len("error.") :]] = prop.get("value") or ""
    cycle = el.findtext(f"{_q('extensionElements')}/{ns}failedJobRetryTimeCycle") or el.get(
        f"{ns}failedJobRetryTimeCycle"
    )
    if cycle:
        import re as _re

        match = _re.match(r"R(\d+)/", cycle.strip())
        if match:
            result["retries"] = int(match.group(1))
    return result


def _form_field(field_el: etree._Element) -> dict:
    ns = f"{{{CAMUNDA_NS}}}"
    result = {
        "id": field_el.get("id"),
        "label": field_el.get("label") or field_el.get("id"),
        "type": field_el.get("type") or "string",
        "defaultValue": field_el.get("defaultValue"),
        "validation": [{"name": c.get("name"), "config": c.get("config")} for c in field_el.iter(f"{ns}constraint")],
    }
    values = [{"id": v.get("id"), "name": v.get("name")} for v in field_el.findall(f"{ns}value")]
    if values:
        result["values"] = values
    return result


MAX_TTL_DAYS = 100_000  # about 270 years: more is a typo (and would not fit the column)


def history_ttl_days(text: str | None) -> int | None:
    """camunda:historyTimeToLive as days: ``30`` or ``P30D``; None when absent, unreadable or
    beyond MAX_TTL_DAYS (checks refuses those at deploy)."""
    match = re.fullmatch(r"\s*(?:P(\d+)D|(\d+))\s*", text or "")
    if match is None:
        return None
    days = int(match.group(1) or match.group(2))
    return days if days <= MAX_TTL_DAYS else None
