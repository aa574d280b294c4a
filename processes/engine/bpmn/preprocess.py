"""Rewrites before SpiffWorkflow's parser sees a document: what SpiffWorkflow 3.2 would get wrong."""

from __future__ import annotations

import copy

from lxml import etree

from ..approval_rules import decision_variable
from .constants import BPMN_NS, CAMUNDA_NS, ENGINE_NS, SPIFF_NS
from .results import Problem


def _q(tag: str) -> str:
    return f"{{{BPMN_NS}}}{tag}"


def _preprocess(tree: etree._ElementTree) -> etree._ElementTree:
    """Return a copy with link events and signal end events rewritten into what SpiffWorkflow runs."""
    tree = copy.deepcopy(tree)
    _name_anonymous_flows(tree)
    _local_references(tree)
    _drop_data_stores(tree)
    _rewrite_compensation(tree)
    for process in tree.getroot().iter(_q("process"), _q("subProcess")):
        _rewrite_links(process)
    for end in list(tree.getroot().iter(_q("endEvent"))):
        if end.find(_q("signalEventDefinition")) is not None:
            _rewrite_signal_end(end)
    for task in tree.getroot().iter(_q("userTask")):
        _stop_approval_chain_on_rejection(task)
    return tree


_REFERENCE_ATTRIBUTES = ("messageRef", "signalRef", "errorRef", "escalationRef")


def _local_references(tree: etree._ElementTree) -> None:
    """A reference may be a QName ('tns:newInvoice', the prefix naming the target namespace),
    as Camunda accepts; SpiffWorkflow looks the whole text up as an id and fails."""
    for el in tree.getroot().iter():
        if not isinstance(el.tag, str):
            continue
        for attribute in _REFERENCE_ATTRIBUTES:
            value = el.get(attribute)
            if value and ":" in value:
                el.set(attribute, value.split(":", 1)[1])


def _drop_data_stores(tree: etree._ElementTree) -> None:
    """Data stores are documentation in Camunda (the compatibility report says so); SpiffWorkflow
    wants an implementation for each. Drop them and the associations that reach them."""
    root = tree.getroot()
    references = set()
    for el in list(root.iter(_q("dataStore"), _q("dataStoreReference"))):
        references.add(el.get("id"))
        el.getparent().remove(el)
    for association in list(root.iter(_q("dataInputAssociation"), _q("dataOutputAssociation"))):
        ends = {
            (association.findtext(_q("sourceRef")) or "").strip(),
            (association.findtext(_q("targetRef")) or "").strip(),
        }
        if ends & references:
            association.getparent().remove(association)


def _name_anonymous_flows(tree: etree._ElementTree) -> None:
    """A sequence flow needs no id in BPMN and Camunda follows it; SpiffWorkflow drops it
    silently. Give each one a generated id (never shown: flows are not steps)."""
    taken = {el.get("id") for el in tree.getroot().iter() if el.get("id")}
    for flow in tree.getroot().iter(_q("sequenceFlow")):
        if flow.get("id"):
            continue
        base = f"flow__{flow.get('sourceRef', '')}__{flow.get('targetRef', '')}"
        flow_id, n = base, 1
        while flow_id in taken:
            n += 1
            flow_id = f"{base}__{n}"
        taken.add(flow_id)
        flow.set("id", flow_id)


COMPENSATION_HANDLER = f"{{{ENGINE_NS}}}compensationHandler"
COMPENSATE = f"{{{ENGINE_NS}}}compensate"


def _rewrite_compensation(tree: etree._ElementTree) -> None:
    """SpiffWorkflow cannot parse compensation; the engine runs it (runtime.Run). Here the
    compensation boundary events and their associations become a marker on the activity
    naming its handler, and a compensation throw becomes a none throw marked with what it
    compensates ('*' for every completed activity of its scope)."""
    root = tree.getroot()
    handlers = {a.get("sourceRef"): a.get("targetRef") for a in root.iter(_q("association"))}
    by_id = {el.get("id"): el for el in root.iter() if isinstance(el.tag, str) and el.get("id")}
    for boundary in list(root.iter(_q("boundaryEvent"))):
        if boundary.find(_q("compensateEventDefinition")) is None:
            continue
        activity = by_id.get(boundary.get("attachedToRef"))
        handler = handlers.get(boundary.get("id"))
        if activity is not None and handler:
            activity.set(COMPENSATION_HANDLER, handler)
        boundary.getparent().remove(boundary)
    for association in list(root.iter(_q("association"))):
        if association.get("targetRef") in {el.get(COMPENSATION_HANDLER) for el in by_id.values()}:
            association.getparent().remove(association)
    for tag in ("intermediateThrowEvent", "endEvent"):
        for event in root.iter(_q(tag)):
            definition = event.find(_q("compensateEventDefinition"))
            if definition is None:
                continue
            event.set(COMPENSATE, definition.get("activityRef") or "*")
            event.remove(definition)


def _check_compensation(tree: etree._ElementTree, name: str) -> list[Problem]:
    """What the engine would not run as Camunda does is refused, naming the element: compensation
    event subprocesses, compensation inside a transaction, compensation boundary events without
    a handler, external tasks without a topic."""
    root = tree.getroot()
    handlers = {a.get("sourceRef") for a in root.iter(_q("association"))}
    refused: list[tuple[etree._Element, str]] = []
    for start in root.iter(_q("startEvent")):
        if start.find(_q("compensateEventDefinition")) is not None:
            refused.append(
                (
                    start,
                    "Compensation event subprocesses are not supported: compensate with a compensation boundary "
                    "event and a handler task (isForCompensation) on the activity instead",
                )
            )
    for boundary in root.iter(_q("boundaryEvent")):
        if boundary.find(_q("compensateEventDefinition")) is None:
            continue
        if any(a.tag == _q("transaction") for a in boundary.iterancestors()):
            refused.append(
                (
                    boundary,
                    "Compensation inside a transaction (run when the transaction is cancelled) is not supported: "
                    "throw the compensation explicitly after the cancel boundary event instead",
                )
            )
        elif boundary.get("id") not in handlers:
            refused.append(
                (
                    boundary,
                    "This compensation boundary event has no handler: connect it to a task marked "
                    "isForCompensation with an association",
                )
            )
    for task in root.iter(_q("serviceTask"), _q("sendTask"), _q("businessRuleTask")):
        if task.get(f"{{{CAMUNDA_NS}}}type") == "external" and not (task.get(f"{{{CAMUNDA_NS}}}topic") or "").strip():
            refused.append((task, "An external task needs a topic (camunda:topic) for its workers to fetch it by"))
    return [Problem(message, file=name, element_id=el.get("id", ""), line=el.sourceline) for el, message in refused]


def approval_properties(task: etree._Element) -> dict[str, str]:
    """camunda:/spiffworkflow: properties of a task that start with 'approval' (docs/APPROVALS.md)."""
    found = {}
    for ns in (CAMUNDA_NS, SPIFF_NS):
        for prop in task.iterfind(f"{_q('extensionElements')}/{{{ns}}}properties/{{{ns}}}property"):
            name = prop.get("name") or ""
            if name == "approval" or name.startswith("approval."):
                found[name] = prop.get("value") or ""
    return found


def _stop_approval_chain_on_rejection(task: etree._Element) -> None:
    """A sequential multi-instance approval ends at the first rejection or change request,
    unless the diagram gives its own completion condition."""
    props = approval_properties(task)
    loop = task.find(_q("multiInstanceLoopCharacteristics"))
    if props.get("approval") != "true" or loop is None or loop.get("isSequential") != "true":
        return
    if loop.find(_q("completionCondition")) is not None:
        return
    variable = decision_variable(task.get("id"), props)
    condition = etree.SubElement(loop, _q("completionCondition"))
    condition.text = f"{variable} in ('rejected', 'changes_requested')"


def _rewrite_links(container: etree._Element) -> None:
    catches: dict[str, etree._Element] = {}
    throws: list[tuple[str, etree._Element]] = []
    for child in container:
        link = child.find(_q("linkEventDefinition"))
        if link is None:
            continue
        name = link.get("name") or child.get("name") or ""
        if child.tag == _q("intermediateCatchEvent"):
            catches[name] = child
        elif child.tag == _q("intermediateThrowEvent"):
            throws.append((name, child))
    for name, throw in throws:
        catch = catches.get(name)
        if catch is None:
            continue  # reported by _check_links
        flow = etree.SubElement(container, _q("sequenceFlow"))
        flow_id = f"{throw.get('id')}__link__{catch.get('id')}"
        flow.set("id", flow_id)
        flow.set("sourceRef", throw.get("id"))
        flow.set("targetRef", catch.get("id"))
        outgoing = etree.SubElement(throw, _q("outgoing"))
        outgoing.text = flow_id
        incoming = etree.SubElement(catch, _q("incoming"))
        incoming.text = flow_id
        throw.remove(throw.find(_q("linkEventDefinition")))
    for catch in catches.values():
        link = catch.find(_q("linkEventDefinition"))
        if link is not None:
            catch.remove(link)
            catch.tag = _q("intermediateThrowEvent")  # a none intermediate event just passes the token on


def _rewrite_signal_end(end: etree._Element) -> None:
    """endEvent(signal) -> intermediateThrowEvent(signal) -> endEvent, keeping the element id visible."""
    container = end.getparent()
    end_id = end.get("id")
    end.tag = _q("intermediateThrowEvent")
    plain_end = etree.SubElement(container, _q("endEvent"))
    plain_end.set("id", f"{end_id}__end")
    flow = etree.SubElement(container, _q("sequenceFlow"))
    flow.set("id", f"{end_id}__to_end")
    flow.set("sourceRef", end_id)
    flow.set("targetRef", plain_end.get("id"))


def _check_links(tree: etree._ElementTree, name: str) -> list[Problem]:
    problems = []
    for container in tree.getroot().iter(_q("process"), _q("subProcess")):
        catch_names = set()
        for catch in container.findall(_q("intermediateCatchEvent")):
            link = catch.find(_q("linkEventDefinition"))
            if link is not None:
                catch_names.add(link.get("name") or catch.get("name") or "")
        for throw in container.findall(_q("intermediateThrowEvent")):
            link = throw.find(_q("linkEventDefinition"))
            if link is not None:
                link_name = link.get("name") or throw.get("name") or ""
                if link_name not in catch_names:
                    problems.append(
                        Problem(
                            f"Link throw event '{link_name}' has no link catch event of the same name in its process",
                            file=name,
                            element_id=throw.get("id", ""),
                            line=throw.sourceline,
                        )
                    )
    return problems
