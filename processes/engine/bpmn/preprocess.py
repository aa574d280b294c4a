"""Rewrites before SpiffWorkflow's parser sees a document: what SpiffWorkflow 3.2 would get wrong."""

from __future__ import annotations

import copy

from lxml import etree

from ..approval_rules import decision_variable
from .constants import BPMN_NS, CAMUNDA_NS, SPIFF_NS
from .results import Problem


def _q(tag: str) -> str:
    return f"{{{BPMN_NS}}}{tag}"


def _preprocess(tree: etree._ElementTree) -> etree._ElementTree:
    """Return a copy with link events and signal end events rewritten into what SpiffWorkflow runs."""
    tree = copy.deepcopy(tree)
    _name_anonymous_flows(tree)
    for process in tree.getroot().iter(_q("process"), _q("subProcess")):
        _rewrite_links(process)
    for end in list(tree.getroot().iter(_q("endEvent"))):
        if end.find(_q("signalEventDefinition")) is not None:
            _rewrite_signal_end(end)
    for task in tree.getroot().iter(_q("userTask")):
        _stop_approval_chain_on_rejection(task)
    return tree


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
