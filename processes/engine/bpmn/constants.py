"""Namespaces, dialects and limits shared by the BPMN/DMN reading modules."""

from __future__ import annotations

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
ZEEBE_NS = "http://camunda.org/schema/zeebe/1.0"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
# Markers the preprocessing leaves for the spec build (never in a user's file)
ENGINE_NS = "urn:bpm-engine:preprocess"
DMN_NAMESPACES = {
    "https://www.omg.org/spec/DMN/20191111/MODEL/",
    "http://www.omg.org/spec/DMN/20180521/MODEL/",
    "http://www.omg.org/spec/DMN/20151101/dmn.xsd",
    "https://www.omg.org/spec/DMN/20230324/MODEL/",
}
NS = {"bpmn": BPMN_NS, "camunda": CAMUNDA_NS, "spiffworkflow": SPIFF_NS}

DIALECT_CAMUNDA = "camunda"
DIALECT_SPIFF = "spiff"

DEFAULT_MAX_BYTES = 5 * 1024 * 1024
