"""Scanning a file: what it defines (processes, decisions) and what it calls."""

from __future__ import annotations

from lxml import etree

from .constants import CAMUNDA_NS, SPIFF_NS
from .preprocess import _q


def called_processes(tree: etree._ElementTree) -> set[str]:
    return {
        el.get("calledElement")
        for el in tree.getroot().iter(_q("callActivity"))
        if el.get("calledElement") and not el.get("calledElement").startswith(("${", "#{", "="))
    }


def called_decisions(tree: etree._ElementTree) -> set[str]:
    refs = set()
    for el in tree.getroot().iter(_q("businessRuleTask")):
        ref = el.get(f"{{{CAMUNDA_NS}}}decisionRef")
        if ref:
            refs.add(ref)
        for spiff_ref in el.iter(f"{{{SPIFF_NS}}}calledDecisionId"):
            if spiff_ref.text:
                refs.add(spiff_ref.text.strip())
    return refs


def decision_ids(tree: etree._ElementTree) -> set[str]:
    root = tree.getroot()
    return {el.get("id") for el in root if etree.QName(el).localname == "decision" and el.get("id")}


def process_ids(tree: etree._ElementTree) -> list[tuple[str, bool, etree._Element]]:
    return [(p.get("id"), p.get("isExecutable", "true") == "true", p) for p in tree.getroot().iter(_q("process"))]
