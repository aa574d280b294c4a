"""What the engine reads from the XML onto SpiffWorkflow's specs after they are built: the
parts of a Camunda diagram SpiffWorkflow parses but does not honour, settled or marked once
per spec (specs are cached and shared by every instance of a version).

- multi-instance specs made complete and fixed (``_settle_loop_specs``);
- compensation handlers parsed (they have no incoming flow) and compensation marks;
- asynchronous continuations (``bpm_async_before`` / ``bpm_async_after``);
- ``camunda:inputOutput`` (``bpm_io``) and call-activity ``camunda:in``/``out``
  (``bpm_call_mappings``), which runtime.Run and spiff_patches apply, and which version a
  call runs (``bpm_call_binding``, engine/called.py).
"""

from __future__ import annotations

from lxml import etree
from SpiffWorkflow.bpmn.specs.data_spec import TaskDataReference
from SpiffWorkflow.camunda.specs.multiinstance_task import ParallelMultiInstanceTask as CamundaParallelMI
from SpiffWorkflow.camunda.specs.multiinstance_task import SequentialMultiInstanceTask as CamundaSequentialMI

from ..deep import call_deep
from .constants import NS
from .metadata import _parameter_value
from .preprocess import COMPENSATE, COMPENSATION_HANDLER, _q


def mark_specs(parser, spec, subprocess_specs: dict) -> None:
    """Settle and mark a process's spec and the specs of what it calls."""
    continuations, marks = _engine_markers(parser)
    for each in [spec, *subprocess_specs.values()]:
        _parse_compensation_handlers(parser, each)
        _settle_loop_specs(each)
        for task_spec in each.task_specs.values():
            bpmn_id = getattr(task_spec, "bpmn_id", None) or ""
            own = task_spec.name == bpmn_id  # a multi-instance's children share its id
            before, after = continuations.get(bpmn_id, (False, False)) if own else (False, False)
            task_spec.bpm_async_before = before
            task_spec.bpm_async_after = after
            element = marks.get(bpmn_id, {})
            task_spec.bpm_compensation_handler = element.get("handler") if own else None
            task_spec.bpm_compensate = element.get("compensate")
            if own:
                task_spec.bpm_io = element.get("io")
                task_spec.bpm_tag = element.get("tag", "")
            if element.get("call"):
                task_spec.bpm_call_mappings = element["call"]
            if element.get("binding"):
                task_spec.bpm_call_binding = element["binding"]
            if element.get("error_variables") and getattr(task_spec, "event_definition", None) is not None:
                code_variable, message_variable = element["error_variables"]
                task_spec.event_definition.bpm_code_variable = code_variable
                task_spec.event_definition.bpm_message_variable = message_variable


CAMUNDA_MULTI_INSTANCE = (CamundaSequentialMI, CamundaParallelMI)


def _parse_compensation_handlers(parser, spec) -> None:
    """Compensation handlers have no incoming flow, so SpiffWorkflow, which parses what the
    flows reach, never builds them: parse them into their process's spec too."""
    process_parser = parser.process_parsers.get(spec.name)
    if process_parser is None:
        return
    for node in process_parser.node:
        if isinstance(node.tag, str) and node.get("isForCompensation") == "true" and node.get("id"):
            if node.get("id") not in spec.task_specs:
                call_deep(process_parser.parse_node, node)
            handler = spec.task_specs[node.get("id")]
            if not handler.inputs:
                # SpiffWorkflow refuses to ready a task without an input; the throw starts it
                handler.inputs = [spec.start]


def _engine_markers(parser) -> tuple[dict[str, tuple[bool, bool]], dict[str, dict]]:
    """Over every file the parser holds: element id -> (asyncBefore, asyncAfter) from
    camunda:asyncBefore / asyncAfter (the legacy camunda:async means before), and element
    id -> its marks: the compensation markers the preprocessing left (handler, what a throw
    compensates), its camunda:inputOutput (io) and a call activity's in/out mappings (call)."""
    found: dict[str, tuple[bool, bool]] = {}
    marks: dict[str, dict] = {}
    roots = {
        id(p.node.getroottree().getroot()): p.node.getroottree().getroot() for p in parser.process_parsers.values()
    }
    for root in roots.values():
        for el in root.iter():
            if not isinstance(el.tag, str) or not el.get("id"):
                continue
            # the element's BPMN tag (subProcess and callActivity share a spec class in Camunda's parser)
            marks.setdefault(el.get("id"), {})["tag"] = etree.QName(el).localname
            before = any(el.get(f"{{{NS['camunda']}}}{name}") == "true" for name in ("asyncBefore", "async"))
            after = el.get(f"{{{NS['camunda']}}}asyncAfter") == "true"
            if before or after:
                found[el.get("id")] = (before, after)
            if el.get(COMPENSATION_HANDLER) or el.get(COMPENSATE):
                marks.setdefault(el.get("id"), {}).update(
                    {"handler": el.get(COMPENSATION_HANDLER), "compensate": el.get(COMPENSATE)}
                )
            io = el.find(f"{_q('extensionElements')}/{{{NS['camunda']}}}inputOutput")
            if io is not None:
                ns = f"{{{NS['camunda']}}}"
                marks.setdefault(el.get("id"), {})["io"] = {
                    "inputs": {p.get("name"): _parameter_value(p) for p in io.findall(f"{ns}inputParameter")},
                    "outputs": {p.get("name"): _parameter_value(p) for p in io.findall(f"{ns}outputParameter")},
                }
            error = el.find(_q("errorEventDefinition"))
            if error is not None:
                ns = f"{{{NS['camunda']}}}"
                names = (error.get(f"{ns}errorCodeVariable"), error.get(f"{ns}errorMessageVariable"))
                if any(names):
                    marks.setdefault(el.get("id"), {})["error_variables"] = names
            if etree.QName(el).localname == "callActivity":
                ns = f"{{{NS['camunda']}}}"
                marks.setdefault(el.get("id"), {})["binding"] = {
                    "binding": el.get(f"{ns}calledElementBinding") or "latest",
                    "version": el.get(f"{ns}calledElementVersion") or "",
                    "version_tag": el.get(f"{ns}calledElementVersionTag") or "",
                }
                mappings = {"in": [], "out": []}
                for direction in ("in", "out"):
                    for mapping in el.iterfind(f"{_q('extensionElements')}/{{{NS['camunda']}}}{direction}"):
                        mappings[direction].append(dict(mapping.attrib))
                if mappings["in"] or mappings["out"]:
                    marks.setdefault(el.get("id"), {})["call"] = mappings
    return found, marks


def _settle_loop_specs(spec) -> None:
    """Make multi-instance specs complete and fixed when they are built.

    - SpiffWorkflow's Camunda multi-instance sets its data input and input item on the
      *spec* the first time an instance reaches it, so a spec built fresh (another process,
      a cleared cache) for an instance already inside the loop has none, and the loop
      ends after its first child. The same is done here, once, at build time
      (``spiff_patches`` stops the run-time version): ``camunda:collection`` is the input
      and ``camunda:elementVariable`` the item, as in Camunda; ``loopCardinality`` a count.
    - A multi-instance task hears that a child completed through an event on the child's
      spec, which SpiffWorkflow connects only when it creates a child: connect it now.
    """
    for task_spec in spec.task_specs.values():
        if isinstance(task_spec, CAMUNDA_MULTI_INSTANCE):
            item = task_spec.output_item
            task_spec.input_item = TaskDataReference(item.bpmn_id) if item is not None else None
            if task_spec.cardinality is None and task_spec.data_output is not None:
                task_spec.data_input = TaskDataReference(task_spec.data_output.bpmn_id)
        inner_name = getattr(task_spec, "task_spec", None)
        merge_child = getattr(task_spec, "merge_child", None)
        if not isinstance(inner_name, str) or merge_child is None or inner_name not in spec.task_specs:
            continue
        inner = spec.task_specs[inner_name]
        if not inner.completed_event.is_connected(merge_child):
            inner.completed_event.connect(merge_child)
