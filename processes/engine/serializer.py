"""Versioned instance state: SpiffWorkflow's runtime state and data, without the spec.

SpiffWorkflow's serializer writes the whole spec into every workflow; our specs are
cached per definition version, so the stored state holds only tasks, data and
events, and the spec is supplied when the state is loaded.
"""

from __future__ import annotations

import datetime
import decimal
import threading
from copy import deepcopy
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import (
    BpmnSubWorkflowConverter,
    BpmnWorkflowConverter,
    WorkflowConverter,
)
from SpiffWorkflow.bpmn.util.subworkflow import BpmnSubWorkflow
from SpiffWorkflow.camunda.serializer.config import CAMUNDA_CONFIG
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

from . import called
from .parser import DIALECT_CAMUNDA, DIALECT_SPIFF

# Bump when the stored shape changes; load() refuses states it does not know.
STATE_FORMAT = "bpm-1"

_restore_context = threading.local()


class StateOnlyWorkflowConverter(BpmnWorkflowConverter):
    """Convert a top-level workflow without its spec; the spec comes from the definition cache."""

    def to_dict(self, workflow):
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct):
        spec, subprocess_specs = _restore_context.specs
        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


class BoundSubWorkflowConverter(BpmnSubWorkflowConverter):
    """A called process is rebuilt with the version its call started (engine/called.py)."""

    def from_dict(self, dct, task, top_workflow):
        spec = called.restored_spec(task, top_workflow)
        subprocess = self.target_class(spec, task.id, top_workflow, deserializing=True)
        subprocess.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=subprocess)
        subprocess.task_tree = subprocess.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(subprocess, dct)
        return subprocess


def _make_serializer(config: dict) -> BpmnWorkflowSerializer:
    config = deepcopy(config)
    config[BpmnWorkflow] = StateOnlyWorkflowConverter
    config[BpmnSubWorkflow] = BoundSubWorkflowConverter
    registry = BpmnWorkflowSerializer.configure(config)
    # Values scripts commonly produce that JSON cannot hold as they are.
    registry.register(
        datetime.date, lambda v: {"value": v.isoformat()}, lambda v: datetime.date.fromisoformat(v["value"])
    )
    registry.register(decimal.Decimal, lambda v: {"value": str(v)}, lambda v: decimal.Decimal(v["value"]))
    return BpmnWorkflowSerializer(registry)


_SERIALIZERS = {
    DIALECT_CAMUNDA: _make_serializer(CAMUNDA_CONFIG),
    DIALECT_SPIFF: _make_serializer(SPIFF_CONFIG),
}


def dump(workflow: BpmnWorkflow, dialect: str) -> dict:
    """Return the workflow's runtime state as a JSON-ready dict."""
    serializer = _SERIALIZERS[dialect]
    state = serializer.to_dict(workflow)
    state["format"] = STATE_FORMAT
    return state


def _in_tree_order(tasks: dict, root: str) -> dict:
    """Order serialized tasks parents-first.

    Task data is stored as a delta against the parent, so parents must be restored
    first; PostgreSQL's jsonb does not keep key order, so the order is rebuilt here.
    """
    ordered: dict = {}
    stack = [root]
    while stack:
        task_id = stack.pop()
        task = tasks.get(task_id)
        if task is None or task_id in ordered:
            continue
        ordered[task_id] = task
        stack.extend(reversed(task.get("children", [])))
    for task_id, task in tasks.items():  # anything unreachable keeps its place at the end
        ordered.setdefault(task_id, task)
    return ordered


def _reorder(workflow_state: dict) -> dict:
    copy = dict(workflow_state)
    copy["tasks"] = _in_tree_order(workflow_state["tasks"], workflow_state["root"])
    return copy


def load(state: dict, dialect: str, spec, subprocess_specs) -> BpmnWorkflow:
    """Rebuild a workflow from its stored state and the (cached) spec of its definition version."""
    if state.get("format") != STATE_FORMAT:
        raise ValueError(f"Unknown instance state format {state.get('format')!r}; expected {STATE_FORMAT}")
    serializer = _SERIALIZERS[dialect]
    _restore_context.specs = (spec, subprocess_specs)
    try:
        # from_dict pops keys; the caller's dict stays intact.
        shallow = _reorder({k: v for k, v in state.items() if k != "format"})
        shallow["subprocesses"] = {k: _reorder(v) for k, v in shallow.get("subprocesses", {}).items()}
        return serializer.from_dict(shallow)
    finally:
        _restore_context.specs = None


def to_json_value(value):
    """Turn task data into plain JSON values (dates as ISO text) for the variables column and the API."""
    if isinstance(value, dict):
        return {str(k): to_json_value(v) for k, v in value.items() if not callable(v)}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_json_value(v) for v in value]
    if isinstance(value, (datetime.date, datetime.datetime, datetime.time)):
        return value.isoformat()
    if isinstance(value, datetime.timedelta):
        return value.total_seconds()
    if isinstance(value, (decimal.Decimal, UUID)):
        return str(value)
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return repr(value)
