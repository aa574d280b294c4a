"""Where SpiffWorkflow 3.2.0 fails on long processes, replaced parts (applied once, on import).

- Its task iterators stop descending at depth 1000 by default, so an instance whose tree
  is deeper (a loop taken ~333 times) looks finished: the open tasks are never seen.
  The default becomes unbounded; compaction keeps the trees shallow anyway.
- ``Task.is_descendant_of`` and ``find_ancestor`` recurse once per ancestor.
- Prediction of definite (FUTURE) tasks runs to the end of the process, recursively,
  on every step: a 2,000-element sequence builds 2,000 predicted tasks and exceeds
  the recursion limit. It stops after ``PREDICTION_DEPTH`` elements; a task beyond that
  is predicted when its turn comes (``_update``).

- A message delivered from outside to a Camunda-dialect catch event fails with
  ``KeyError: 'payload'`` (see ``_camunda_message_data``), and one thrown without a
  payload expression fails its sender.
- The Camunda multi-instance rewrites its shared spec on first use (see
  ``_camunda_multi_instance_update``).
- Cycle timers read only ISO 8601 intervals; Quartz cron expressions fire at their next
  time (``_cron_cycle_complete``).
- camunda:inputOutput on activities is recorded but never applied (``_apply_input_parameters``,
  ``_on_complete_with_outputs``).
- A call activity passes every variable both ways; with camunda:in / camunda:out it passes
  only what they map, as Camunda does (``_mapped_copy_data``, ``_mapped_update_data``).
- A caught error's code and message reach no variable; camunda:errorCodeVariable and
  errorMessageVariable set them (``_code_catch_keeping_code``, ``_code_update_with_variables``).
- A call activity runs the called process's spec bundled when the caller was deployed; it
  runs the version its camunda:calledElementBinding names when the call happens
  (``called.start_bound_workflow``).
- A date or duration timer fires by the clock whenever its task is looked at, so a
  `PT0S` or past-due timer fired inside the command that reached it. As in Camunda, a
  timer fires only through its job (``Run.fire_timer``).

tests/semantics/test_loops.py and test_messages.py pin each behaviour.
"""

from __future__ import annotations

import sys
from copy import deepcopy
from datetime import UTC, datetime

from SpiffWorkflow import version
from SpiffWorkflow.bpmn import BpmnEvent
from SpiffWorkflow.bpmn.specs.event_definitions.conditional import ConditionalEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import CodeEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimeDateEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.bpmn.specs.mixins import BpmnSpecMixin
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import CallActivity
from SpiffWorkflow.bpmn.util.task import BpmnTaskIterator
from SpiffWorkflow.camunda.specs import multiinstance_task as camunda_multi_instance
from SpiffWorkflow.camunda.specs.event_definitions import MessageEventDefinition as CamundaMessageEventDefinition
from SpiffWorkflow.specs.base import TaskSpec
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskIterator, TaskState

from bpm.cron import looks_like_cron, next_fire

from . import called

PREDICTION_DEPTH = 50

if version.__version__ != "3.2.0":  # pragma: no cover - the pin in requirements.txt guards this
    raise ImportError(f"processes.engine.spiff_patches is written for SpiffWorkflow 3.2.0, not {version.__version__}")


def _unbounded_depth(init) -> None:
    defaults = list(init.__defaults__)
    defaults[defaults.index(1000)] = sys.maxsize
    init.__defaults__ = tuple(defaults)


def _is_descendant_of(self: Task, task: Task) -> bool:
    current = self.parent
    while current is not None:
        if current == task:
            return True
        current = current.parent
    return False


def _find_ancestor(self: Task, spec_name: str):
    current = self.parent
    while current is not None:
        if current.task_spec.name == spec_name:
            return current
        current = current.parent
    return None


def _predict(self, my_task, seen=None, looked_ahead=0, mask=TaskState.PREDICTED_MASK):
    # TaskSpec._predict with a bound on how far definite tasks are predicted.
    if seen is None:
        seen = []
    if my_task.has_state(mask):
        self._predict_hook(my_task)
    if my_task.has_state(TaskState.PREDICTED_MASK):
        seen.append(self)
    definite = my_task.has_state(TaskState.DEFINITE_MASK) and looked_ahead < PREDICTION_DEPTH
    look_ahead = definite or looked_ahead + 1 < self.lookahead
    for child in my_task.children:
        if child.has_state(mask) and child not in seen and look_ahead:
            child.task_spec._predict(child, seen[:], looked_ahead + 1, mask)


def _update(self, my_task):
    # TaskSpec._update, predicting also a definite task beyond the prediction bound when it
    # is reached (it has no children yet): what the unbounded prediction did up front.
    if my_task.has_state(TaskState.PREDICTED_MASK):
        self._predict(my_task)
    elif my_task.state == TaskState.FUTURE and not my_task._children and self.outputs:
        self._predict(my_task, mask=TaskState.NOT_FINISHED_MASK)
    if self._update_hook(my_task):
        my_task._ready()
        _apply_input_parameters(self, my_task)


# camunda:inputOutput on an activity (SpiffWorkflow records it but never applies it): input
# parameters become the activity's local variables when it is entered; on completion the
# output parameters are evaluated over them and only they, not the locals, go on.
_IO_LOCALS = "bpm_io_locals"


def _io_value(value, data: dict):
    from . import expressions, scripting

    return expressions.evaluate_parameter(value, data, scripting.evaluate)


def _apply_input_parameters(spec, my_task) -> None:
    io = getattr(spec, "bpm_io", None)
    if not io or not io.get("inputs") or _IO_LOCALS in my_task.internal_data:
        return
    before = {name: my_task.data.get(name, _ABSENT) for name in io["inputs"]}
    my_task.internal_data[_IO_LOCALS] = {n: v for n, v in before.items() if v is not _ABSENT}
    my_task.internal_data[_IO_LOCALS + "_new"] = [n for n, v in before.items() if v is _ABSENT]
    values = {name: _io_value(value, my_task.data) for name, value in io["inputs"].items()}
    my_task.data.update(values)


_on_complete = TaskSpec._on_complete


def _on_complete_with_outputs(self, my_task):
    io = getattr(self, "bpm_io", None) or {}
    if io.get("inputs") or io.get("outputs") or _IO_LOCALS in my_task.internal_data:
        outputs = {name: _io_value(value, my_task.data) for name, value in (io.get("outputs") or {}).items()}
        for name in my_task.internal_data.pop(_IO_LOCALS + "_new", []):
            my_task.data.pop(name, None)  # a local variable ends with its activity
        my_task.data.update(my_task.internal_data.pop(_IO_LOCALS, {}))
        my_task.data.update(outputs)
    return _on_complete(self, my_task)


_ABSENT = object()


_camunda_update_task_data = CamundaMessageEventDefinition.update_task_data


def _camunda_message_data(self, my_task):
    # A message delivered from outside (runtime.Run.send_message) already made its payload
    # process variables; SpiffWorkflow's Camunda dialect expects a shape only its own
    # throw events produce (KeyError 'payload') and would add a '<id>_Response' variable.
    event_data = my_task.internal_data.get(self.name) or {}
    if event_data.get("as_variables") or "payload" not in event_data:
        return
    _camunda_update_task_data(self, my_task)


_camunda_throw = CamundaMessageEventDefinition.throw


def _camunda_message_throw(self, my_task):
    # A message throw or end event with no payload expression sends the message without a
    # payload, as Camunda does; SpiffWorkflow evaluates the missing expression and fails.
    if self.expression is None:
        my_task.workflow.top_workflow.catch(BpmnEvent(self, payload={}))
        return
    _camunda_throw(self, my_task)


def _camunda_multi_instance_update(my_task):
    # SpiffWorkflow's Camunda multi-instance rewrites its own spec here on first use (data
    # input, input item, even the cardinality), shared by every instance and lost in a
    # fresh spec; spec_marks._settle_loop_specs sets them once when the spec is built.
    if my_task.state != TaskState.WAITING:
        BpmnSpecMixin._update_hook(my_task.task_spec, my_task)
        my_task._set_state(TaskState.WAITING)


def _time_date_has_fired(self, my_task):
    # The due time is computed as before (the job's due_at comes from it); only the job
    # that fires the timer (runtime.Run.fire_timer sets event_fired) makes it fire.
    if my_task._get_internal_data("event_value") is None:
        my_task._set_internal_data(event_value=my_task.workflow.script_engine.evaluate(my_task, self.expression))
    return my_task._get_internal_data("event_fired", False)


def _duration_has_fired(self, my_task):
    if my_task._get_internal_data("event_value") is None:
        expression = my_task.workflow.script_engine.evaluate(my_task, self.expression)
        parsed = TimerEventDefinition.parse_iso_duration(expression)
        due = datetime.now(UTC) + TimerEventDefinition.get_timedelta_from_start(parsed)
        my_task._set_internal_data(event_value=due.isoformat())
    return my_task._get_internal_data("event_fired", False)


def _conditional_has_fired(self, my_task):
    # Camunda evaluates a condition naming a variable that does not exist yet as false
    # (tryEvaluate); SpiffWorkflow failed the command on it.
    if my_task._get_internal_data("has_fired"):
        return True
    try:
        fired = my_task.workflow.script_engine.evaluate(
            my_task, self.expression, external_context=my_task.workflow.data_objects
        )
    except Exception as exc:
        from .run_events import _undefined_name

        if not _undefined_name(exc):
            raise
        fired = False
    my_task._set_internal_data(has_fired=bool(fired))
    return bool(fired)


_call_copy_data = CallActivity.copy_data
_call_update_data = CallActivity.update_data


def _mapped(mappings: list[dict], source_data: dict, evaluate) -> dict:
    """Apply camunda:in or camunda:out mappings: variables="all", source -> target,
    sourceExpression -> target."""
    data: dict = {}
    for mapping in mappings:
        if mapping.get("variables") == "all":
            data.update(deepcopy(source_data))
        elif mapping.get("source"):
            if mapping["source"] in source_data:
                data[mapping.get("target") or mapping["source"]] = deepcopy(source_data[mapping["source"]])
        elif mapping.get("sourceExpression") and mapping.get("target"):
            data[mapping["target"]] = evaluate(mapping["sourceExpression"])
    return data


def _is_local(mapping: dict) -> bool:
    return mapping.get("local") == "true"


def _mapped_copy_data(self, my_task, subworkflow):
    # With camunda:in mappings the called process sees only what they pass, as in Camunda.
    # local="true" passes only the call activity's local variables (its input parameters).
    _apply_input_parameters(self, my_task)  # the call starts inside its update, before the ready hook
    mappings = (getattr(self, "bpm_call_mappings", None) or {}).get("in")
    if not mappings:
        return _call_copy_data(self, my_task, subworkflow)
    start = subworkflow.get_next_task(subworkflow.task_tree, skip_subprocesses=True, spec_name="Start")
    engine = my_task.workflow.script_engine
    local_names = set(((getattr(self, "bpm_io", None) or {}).get("inputs")) or {})
    data: dict = {}
    for local in (False, True):
        source = my_task.data if not local else {k: v for k, v in my_task.data.items() if k in local_names}
        chosen = [m for m in mappings if _is_local(m) == local]
        data.update(_mapped(chosen, source, lambda expression: engine.evaluate(my_task, expression)))
    start.set_data(**data)


def _mapped_update_data(self, my_task, subworkflow):
    # With camunda:out mappings only what they name comes back; the caller keeps its own data.
    # local="true" makes them local variables of the call activity: its output parameters
    # may map them, and they end with it.
    mappings = (getattr(self, "bpm_call_mappings", None) or {}).get("out")
    if not mappings:
        if (getattr(self, "bpm_call_mappings", None) or {}).get("in"):
            return None  # in mappings without out mappings: nothing comes back (Camunda)
        return _call_update_data(self, my_task, subworkflow)
    last = subworkflow.last_task
    engine = my_task.workflow.script_engine
    evaluate = lambda expression: engine.evaluate(last, expression)  # noqa: E731
    my_task.data.update(_mapped([m for m in mappings if not _is_local(m)], last.data, evaluate))
    local = _mapped([m for m in mappings if _is_local(m)], last.data, evaluate)
    if local:
        saved = my_task.internal_data.setdefault(_IO_LOCALS, {})
        new = my_task.internal_data.setdefault(_IO_LOCALS + "_new", [])
        for name in local:
            if name in saved or name in new:
                continue
            if name in my_task.data:
                saved[name] = my_task.data[name]  # the caller's variable comes back after the activity
            else:
                new.append(name)
        my_task.data.update(local)
    return None


_cycle_complete = CycleTimerEventDefinition.cycle_complete


def _cron_cycle_complete(self, my_task):
    # A Quartz cron expression (Camunda accepts them as cycles) fires at its next time, for ever;
    # SpiffWorkflow reads only ISO 8601 repeating intervals.
    expression = my_task.workflow.script_engine.evaluate(my_task, self.expression)
    if not (isinstance(expression, str) and looks_like_cron(expression)):
        return _cycle_complete(self, my_task)
    now = datetime.now(UTC)
    event_value = my_task._get_internal_data("event_value")
    if event_value is None:
        event_value = {"cycles": -1, "next": next_fire(expression, now).isoformat(), "duration": 0}
    ready = False
    if datetime.fromisoformat(event_value["next"]) < now:
        event_value["next"] = next_fire(expression, now).isoformat()
        ready = True
    my_task._set_internal_data(event_value=event_value)
    return ready


# The payload of an error or escalation the engine throws (a worker's bpmnError, a connector's
# mapped failure): its message only, for camunda:errorMessageVariable; not merged into the data.
ERROR_MESSAGE = "bpm_error_message"
_CAUGHT_CODE = "bpm_caught_code"  # internal data of the catching task
_code_catch = CodeEventDefinition.catch
_code_update_task_data = CodeEventDefinition.update_task_data


def _code_catch_keeping_code(self, my_task, event=None):
    _code_catch(self, my_task, event)
    my_task.internal_data[_CAUGHT_CODE] = getattr(getattr(event, "event_definition", None), "code", None)


def _code_update_with_variables(self, my_task):
    """camunda:errorCodeVariable / errorMessageVariable on the catching event get the caught
    error's code and message, as in Camunda."""
    payload = my_task.internal_data.get(self.name)
    message = None
    if isinstance(payload, dict) and set(payload) == {ERROR_MESSAGE}:
        message = payload[ERROR_MESSAGE] or None
    else:
        _code_update_task_data(self, my_task)
    if getattr(self, "bpm_code_variable", None):
        my_task.data[self.bpm_code_variable] = my_task.internal_data.get(_CAUGHT_CODE)
    if getattr(self, "bpm_message_variable", None):
        my_task.data[self.bpm_message_variable] = message


def apply() -> None:
    if getattr(Task, "_bpm_patched", False):
        return
    _unbounded_depth(TaskIterator.__init__)
    _unbounded_depth(BpmnTaskIterator.__init__)
    Task.is_descendant_of = _is_descendant_of
    Task.find_ancestor = _find_ancestor
    TaskSpec._predict = _predict
    TaskSpec._update = _update
    TaskSpec._on_complete = _on_complete_with_outputs
    CamundaMessageEventDefinition.update_task_data = _camunda_message_data
    CamundaMessageEventDefinition.throw = _camunda_message_throw
    camunda_multi_instance.update_task_spec = _camunda_multi_instance_update
    ConditionalEventDefinition.has_fired = _conditional_has_fired
    TimeDateEventDefinition.has_fired = _time_date_has_fired
    DurationTimerEventDefinition.has_fired = _duration_has_fired
    CycleTimerEventDefinition.cycle_complete = _cron_cycle_complete
    CallActivity.copy_data = _mapped_copy_data
    CallActivity.update_data = _mapped_update_data
    CallActivity.start_workflow = called.start_bound_workflow
    CodeEventDefinition.catch = _code_catch_keeping_code
    CodeEventDefinition.update_task_data = _code_update_with_variables
    Task._bpm_patched = True


apply()
