"""Run instances: build and cache specs, start, advance, and read waiting points.

The service layer holds the instance row lock; this module only turns stored state
plus an action into new state, the steps that ran and the points where the
workflow now waits. It never touches the database.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnEvent, BpmnWorkflow
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment
from SpiffWorkflow.bpmn.specs.event_definitions.conditional import ConditionalEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import (
    ErrorEventDefinition,
    EscalationEventDefinition,
    SignalEventDefinition,
)
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import CycleTimerEventDefinition, TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import EventBasedGateway
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import CallActivity
from SpiffWorkflow.camunda.specs.event_definitions import MessageEventDefinition as CamundaMessageEventDefinition
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState

from . import compaction, expressions, scripting, serializer, spiff_patches  # noqa: F401 (patches on import)
from .approval_rules import decision_variable
from .parser import ConnectorServiceTask, ExternalServiceTask, SourceFile, TriggeredReceiveTask, build_specs

# ---------------------------------------------------------------------------
# The restricted script engine


class RestrictedEnvironment(BasePythonScriptEngineEnvironment):
    """Evaluate expressions and run scripts through processes.engine.scripting, never plain eval."""

    def __init__(self, scripts_enabled: Callable[[], bool] = lambda: True):
        super().__init__({})
        self.scripts_enabled = scripts_enabled

    def evaluate(self, expression, context, external_context=None):
        return scripting.evaluate(expressions.to_python(expression), context, external_context)

    def execute(self, script, context, external_context=None):
        if not self.scripts_enabled():
            raise scripting.ScriptError("Script tasks are turned off on this server")
        scripting.execute(script, context, external_context)
        return True

    def call_service(self, context, **kwargs):
        raise NotImplementedError("Service task connectors run as jobs")


class RestrictedScriptEngine(PythonScriptEngine):
    """SpiffWorkflow's script engine with JUEL/FEEL translation and the restricted environment."""

    def validate(self, expression):
        scripting.compile_expression(expressions.to_python(expression))

    def evaluate(self, task, expression, external_context=None):
        if expression and "nrOf" in expression:
            external_context = {**(external_context or {}), **multi_instance_counters(task)}
        return super().evaluate(task, expression, external_context)


def approval_variable(task_spec) -> str:
    """The variable an approval task's decision is written to (docs/APPROVALS.md)."""
    extensions = getattr(task_spec, "extensions", None) or {}
    properties = extensions.get("properties", extensions) if isinstance(extensions, dict) else {}
    return decision_variable(task_spec.bpmn_id, properties)


def multi_instance_counters(task) -> dict[str, int]:
    """Camunda's multi-instance variables for completion conditions, plus approval counts.

    ``nrOfInstances``, ``nrOfCompletedInstances``, ``nrOfActiveInstances`` as Camunda
    defines them, and ``nrOfApproved`` / ``nrOfRejected``: completed instances whose
    approval decision is approved / rejected.
    """
    parent = task.parent
    spec = getattr(parent, "task_spec", None)
    if spec is None or not hasattr(spec, "check_completion_condition"):
        return {}
    merged_ids = set(parent.internal_data.get("merged", []))
    children = [c for c in parent.children if c.task_spec.name == spec.task_spec]
    completed = [c for c in children if str(c.id) in merged_ids]
    remaining = parent.internal_data.get("remaining", []) or []
    variable = approval_variable(task.task_spec)
    return {
        "nrOfInstances": len(children) + len(remaining),
        "nrOfCompletedInstances": len(completed),
        "nrOfActiveInstances": len(children) - len(completed),
        "nrOfApproved": sum(1 for c in completed if c.data.get(variable) == "approved"),
        "nrOfRejected": sum(1 for c in completed if c.data.get(variable) == "rejected"),
    }


_scripts_enabled = {"value": True}
SCRIPT_ENGINE = RestrictedScriptEngine(environment=RestrictedEnvironment(lambda: _scripts_enabled["value"]))


def configure(
    *, scripts_enabled: bool, timeout_seconds: float, max_size: int, spec_cache_size: int, max_memory_mb: int = 256
) -> None:
    """Apply settings (called once when Django starts)."""
    _scripts_enabled["value"] = scripts_enabled
    scripting.LIMITS.timeout_seconds = timeout_seconds
    scripting.LIMITS.max_size = max_size
    scripting.LIMITS.max_memory_bytes = max_memory_mb * 1024 * 1024
    SPEC_CACHE.max_size = spec_cache_size


# ---------------------------------------------------------------------------
# Spec cache: parse each definition version once per process


@dataclass
class Specs:
    process_key: str
    dialect: str
    spec: Any
    subprocess_specs: dict


@dataclass
class SpecSource:
    """What the cache needs to build a definition version's spec."""

    process_key: str
    dialect: str
    bpmn_files: list[SourceFile]
    dmn_files: list[SourceFile]


class SpecCache:
    """A small LRU of parsed specs keyed by definition id; specs are immutable once deployed."""

    def __init__(self, max_size: int = 256):
        self.max_size = max_size
        self._items: OrderedDict[Any, Specs] = OrderedDict()
        self._lock = threading.Lock()
        self.misses = 0

    def get(self, key: Any, load_source: Callable[[], SpecSource]) -> Specs:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
                return found
        source = load_source()
        spec, subprocess_specs = build_specs(source.process_key, source.dialect, source.bpmn_files, source.dmn_files)
        specs = Specs(source.process_key, source.dialect, spec, subprocess_specs)
        with self._lock:
            self.misses += 1
            self._items[key] = specs
            while len(self._items) > self.max_size:
                self._items.popitem(last=False)
        return specs

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


SPEC_CACHE = SpecCache()


# ---------------------------------------------------------------------------
# What a run reports back

# How often one command lets conditional events fire in a row (a condition that flips its
# own variables back and forth would otherwise never end).
MAX_CONDITION_ROUNDS = 100

# Completed steps of one run between two compactions of the task tree (see compaction.py).
COMPACT_EVERY = 64

clock = time.time  # SpiffWorkflow stamps state changes with time.time() too


@dataclass
class Step:
    """A BPMN element that completed during a run."""

    element_id: str
    element_type: str
    name: str
    # From when the element began waiting (it was ready or waiting when the run began) or
    # else from the previous step of this run, to its completion: the heat overlay's average.
    duration_s: float | None = None


@dataclass
class WaitPoint:
    """A point where the workflow waits for a person, the clock or an event."""

    spiff_task_id: str
    element_id: str
    element_type: str
    name: str
    kind: str  # user, manual, service, external, receive, async, timer, message, signal, conditional, other
    event_name: str = ""
    due_at: datetime | None = None
    # The waiting task's own data (user/manual tasks): a multi-instance child's element variable lives here.
    data: dict | None = None
    # The process the element belongs to: the instance's own, or a process a call activity runs.
    process_key: str = ""


@dataclass
class RunOutcome:
    """The result of an action on a workflow: new state, what ran, where it waits."""

    state: dict
    status: str  # running, completed, error
    variables: dict
    steps: list[Step] = field(default_factory=list)
    waiting: list[WaitPoint] = field(default_factory=list)
    error_message: str = ""
    error_element_id: str = ""
    unhandled_events: list[dict] = field(default_factory=list)


COMPENSATION_KEY = "bpm_compensation"  # on a workflow's root task: what may be compensated
COMPENSATING = "bpm_compensating"  # on a compensation throw: the handler tasks it started
_ABSENT = object()
ASYNC_HOLD = "bpm_async_hold"  # set on the tasks after an asyncAfter task
ASYNC_PASSED = "bpm_async_passed"  # set when an asyncBefore task's job released it


def condition_holds(expression: str, variables: dict) -> bool:
    """A conditional event's condition over the variables; a variable that does not exist yet
    makes it false (Camunda's tryEvaluate), any other failure is the command's."""
    try:
        return bool(SCRIPT_ENGINE.environment.evaluate(expression, dict(variables)))
    except Exception as exc:
        if _undefined_name(exc):
            return False
        raise


def _undefined_name(exc: BaseException) -> bool:
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, NameError) or "is not defined" in str(exc):
            return True
        exc = getattr(exc, "exception", None) or exc.__cause__ or exc.__context__
        seen += 1
    return False


def held(task) -> bool:
    """A ready task waits at an asynchronous continuation (camunda:asyncBefore on it, or
    asyncAfter on the task before it) until its job releases it."""
    if task.internal_data.get(ASYNC_HOLD):
        return True
    return bool(getattr(task.task_spec, "bpm_async_before", False)) and not task.internal_data.get(ASYNC_PASSED)


class EngineActionError(Exception):
    """An action that does not apply to the workflow as it stands (e.g. the task is not ready)."""


def _element_type(task_spec) -> str:
    return getattr(task_spec, "bpmn_type", None) or type(task_spec).__name__


class Run:
    """One loaded workflow and the actions of one transaction on it."""

    def __init__(self, workflow: BpmnWorkflow, specs: Specs):
        self.workflow = workflow
        self.specs = specs
        self.steps: list[Step] = []
        self.error: SpiffWorkflowException | Exception | None = None
        self.error_element_id = ""
        # (spiff task id, element id) of what the workflow waited on when it was loaded
        # (spiff task id, element id, kind): a step changes kind when its async boundary passes
        self.waiting_before: set[tuple[str, str, str]] = set()
        # when each task pending at load time entered its state (SpiffWorkflow keeps it)
        self.entered: dict[UUID, float] = {}
        self.last_completion = clock()
        self._since_compaction = 0
        self._conditions_started: set[str] = set()

    # -- creation -----------------------------------------------------------------
    @classmethod
    def start(cls, specs: Specs, variables: dict | None = None) -> Run:
        workflow = BpmnWorkflow(specs.spec, specs.subprocess_specs, script_engine=SCRIPT_ENGINE)
        run = cls(workflow, specs)
        if variables:
            # the ready start task passes its data on to the first BPMN element
            for task in workflow.get_tasks(state=TaskState.READY):
                task.data.update(variables)
        return run

    @classmethod
    def load(cls, state: dict, specs: Specs) -> Run:
        workflow = serializer.load(state, specs.dialect, specs.spec, specs.subprocess_specs)
        workflow.script_engine = SCRIPT_ENGINE
        run = cls(workflow, specs)
        run.waiting_before = {(w.spiff_task_id, w.element_id, w.kind) for w in run.waiting()}
        pending = TaskState.READY | TaskState.WAITING | TaskState.STARTED
        run.entered = {task.id: task.last_state_change for task in workflow.get_tasks(state=pending)}
        return run

    # -- actions --------------------------------------------------------------------
    def _record(self, task) -> None:
        spec = task.task_spec
        now = clock()
        began = self.entered.get(task.id, self.last_completion)
        self.last_completion = now
        if getattr(spec, "bpmn_id", None):
            self.steps.append(
                Step(spec.bpmn_id, _element_type(spec), getattr(spec, "bpmn_name", "") or "", max(0.0, now - began))
            )
        if getattr(spec, "bpm_compensation_handler", None) and task.state == TaskState.COMPLETED:
            # a completed activity with a compensation handler can be compensated later
            root = task.workflow.task_tree
            root.internal_data.setdefault(COMPENSATION_KEY, []).append(
                {"activity": spec.bpmn_id, "handler": spec.bpm_compensation_handler}
            )
        parent = task.parent
        if parent is not None and str(task.id) in parent.internal_data.get(COMPENSATING, []):
            # what a handler changed is a process variable: the throw and the other handlers see it
            for other in [parent, *parent.children]:
                if other is parent or str(other.id) in parent.internal_data[COMPENSATING]:
                    if not other.has_state(TaskState.FINISHED_MASK) or other is parent:
                        other.data.update(task.data)
        if getattr(spec, "bpm_async_after", False):
            # asyncAfter: what follows this task waits for a job
            for child in task.children:
                if not child.has_state(TaskState.FINISHED_MASK):
                    child.internal_data[ASYNC_HOLD] = True
        self._since_compaction += 1
        if self._since_compaction >= COMPACT_EVERY:
            # a long run (a loop of engine steps, a long sequence) keeps its tree shallow as it goes
            compaction.compact(self.workflow, subprocesses=False)
            self._since_compaction = 0

    def advance(self) -> None:
        """Run engine steps until the workflow waits; an error stops the run and is kept."""
        if self.error is not None:
            return
        try:
            self.workflow.refresh_timers()
            self._engine_steps()
            # Conditional events look at the variables again after every change; a condition
            # that now holds moves its token on, which may change variables again.
            for _ in range(MAX_CONDITION_ROUNDS):
                if not self._refresh_conditions():
                    break
                self._engine_steps()
        except SpiffWorkflowException as exc:
            self._fail(exc)
        except scripting.ScriptError as exc:
            self._fail(exc)

    # -- engine steps, with transaction boundaries ------------------------------------
    def _engine_steps(self) -> None:
        """SpiffWorkflow's ``do_engine_steps``, except that a task held at an asynchronous
        continuation (``held``) is left for its job, as Camunda commits there."""
        workflow = self.workflow
        while True:
            active = workflow.get_active_subprocesses()
            for subprocess in sorted(active, key=lambda v: v.depth, reverse=True):
                while self._run_ready(subprocess):
                    pass
                if subprocess.parent_task_id is not None:
                    task = workflow.get_task_from_id(subprocess.parent_task_id)
                    task.task_spec._update(task)
            ran = self._run_ready(workflow)
            if not ran and len(workflow.get_active_subprocesses()) <= len(active):
                break
        workflow.refresh_timers()

    def _run_ready(self, workflow) -> int:
        count = 0
        for task in workflow.get_tasks(state=TaskState.READY):
            if task.task_spec.manual or held(task) or task.state != TaskState.READY:
                continue
            if getattr(task.task_spec, "bpm_compensate", None):
                if COMPENSATING not in task.internal_data:
                    self._start_compensation(task)
                    count += 1
                if self._compensation_pending(task):
                    continue  # a compensation throw waits for its handlers (waitForCompletion)
            task.run()
            count += 1
            self._record(task)
        return count

    # -- compensation ------------------------------------------------------------------
    def _start_compensation(self, task) -> None:
        """Start the handlers of the completed activities a compensation throw names (all of
        its scope for '*'), in reverse order of their completion; each is compensated once."""
        ref = task.task_spec.bpm_compensate
        root = task.workflow.task_tree
        subscriptions = root.internal_data.get(COMPENSATION_KEY, [])
        chosen = [s for s in subscriptions if ref == "*" or s["activity"] == ref]
        root.internal_data[COMPENSATION_KEY] = [s for s in subscriptions if s not in chosen]
        started = []
        for subscription in reversed(chosen):
            handler_spec = task.workflow.spec.task_specs.get(subscription["handler"])
            if handler_spec is None:
                continue
            handler = task._add_child(handler_spec, TaskState.FUTURE)
            handler.triggered = True  # kept when the throw completes and syncs its children
            handler.task_spec._update(handler)
            started.append(str(handler.id))
        task.internal_data[COMPENSATING] = started

    def _compensation_pending(self, task) -> bool:
        for handler_id in task.internal_data.get(COMPENSATING, []):
            handler = task.workflow.tasks.get(UUID(handler_id))
            if handler is not None and not handler.has_state(TaskState.FINISHED_MASK):
                return True
        return False

    def continue_async(self, spiff_task_id: str) -> None:
        """The job of an asynchronous continuation: release the held task, run it (unless a
        person or worker does it), and go on until the workflow waits."""
        task = self.find_task(spiff_task_id)
        if task is None or task.state != TaskState.READY or not held(task):
            raise EngineActionError("The asynchronous continuation no longer waits")
        task.internal_data.pop(ASYNC_HOLD, None)
        task.internal_data[ASYNC_PASSED] = True
        if not task.task_spec.manual:
            try:
                task.run()
            except SpiffWorkflowException as exc:
                self._fail(exc)
                return
            except scripting.ScriptError as exc:
                self._fail(exc)
                return
            self._record(task)
        self.advance()

    def _conditional_starts(self) -> list[tuple[Any, str]]:
        """(start event spec, event-subprocess spec name) of conditional event-subprocess starts
        that could start now (the same rules as for messages and signals)."""
        if self.workflow.is_completed():
            return []
        started = {sub.spec.name for sub in self.workflow.subprocesses.values()}
        names = getattr(self.workflow.spec.start, "trigger_specs", [])
        specs = [s for s in (self.workflow.subprocess_specs.get(n) for n in names) if s is not None]
        if any(s.name in started and any(getattr(e, "interrupting", True) for e in s.bpmn_start_events) for s in specs):
            return []
        found = []
        for sub_spec in specs:
            for start in sub_spec.bpmn_start_events:
                if not isinstance(start.event_definition, ConditionalEventDefinition):
                    continue
                if getattr(start, "interrupting", True) and sub_spec.name in started:
                    continue
                if sub_spec.name in self._conditions_started:
                    continue  # a non-interrupting one starts at most once per command
                found.append((start, sub_spec.name))
        return found

    def _start_conditional_event_subprocesses(self) -> bool:
        candidates = self._conditional_starts()
        if not candidates:
            return False
        variables = self.variables()
        fired = False
        for start, spec_name in candidates:
            if not condition_holds(start.event_definition.expression, variables):
                continue
            self._conditions_started.add(spec_name)
            child_id = self.workflow.spec.start.trigger_wf(self.workflow.task_tree, spec_name)
            self.workflow.get_task_from_id(child_id).data.update(variables)
            for task in self.workflow.subprocesses[child_id].get_tasks(state=TaskState.NOT_FINISHED_MASK):
                task.data.update(variables)
                if task.task_spec is start or getattr(task.task_spec, "bpmn_id", None) == start.bpmn_id:
                    task._set_internal_data(has_fired=True)
            if getattr(start, "interrupting", True):
                for child in list(self.workflow.task_tree.children):
                    if child.id != child_id:
                        child.cancel()
            fired = True
        return fired

    def _refresh_conditions(self) -> bool:
        """Evaluate every waiting conditional event again, and the conditional starts of event
        subprocesses; True when one fired."""
        fired = self._start_conditional_event_subprocesses()
        for task in list(self.workflow.event_manager.tasks.values()):
            if task.state != TaskState.WAITING:
                continue
            if not any(isinstance(d, ConditionalEventDefinition) for _, d in _event_definitions(task.task_spec)):
                continue
            task.task_spec._update(task)
            fired = fired or task.state != TaskState.WAITING
        return fired

    def _fail(self, exc: Exception) -> None:
        self.error = exc
        task = getattr(exc, "task", None)
        if task is not None:
            self.error_element_id = getattr(task.task_spec, "bpmn_id", "") or ""

    def find_task(self, spiff_task_id: str):
        try:
            return self.workflow.get_task_from_id(UUID(str(spiff_task_id)))
        except (ValueError, SpiffWorkflowException, KeyError):
            return None

    def complete_task(self, spiff_task_id: str, data: dict | None = None) -> None:
        """Complete a ready user or manual task with form data, then advance."""
        task = self.find_task(spiff_task_id)
        if task is None:
            raise EngineActionError("No such task in this instance")
        if task.state != TaskState.READY or not task.task_spec.manual or held(task):
            raise EngineActionError(f"Task '{task.task_spec.bpmn_id}' is not waiting for a person")
        if data:
            task.set_data(**data)
            parent = task.parent
            if parent is not None and hasattr(parent.task_spec, "check_completion_condition"):
                # As in Camunda, values given when completing a multi-instance task are process
                # variables: they outlive the instance (a decision routes the gateway after the loop).
                parent.data.update(data)
        try:
            task.run()
        except SpiffWorkflowException as exc:
            self._fail(exc)
            return
        self._record(task)
        self.advance()

    def _catchers(self, cls, name: str) -> list[tuple[Any, Any]]:
        """(waiting task, event definition) pairs that wait for this message or signal."""
        found = []
        for task in self.workflow.get_tasks(state=TaskState.WAITING):
            if not isinstance(task.task_spec, CatchingEvent):
                continue
            for _, definition in _event_definitions(task.task_spec):
                if isinstance(definition, cls) and definition.name == name:
                    found.append((task, definition))
        return found

    def send_message(self, name: str, payload: dict | None = None, *, spiff_task_id: str | None = None) -> bool:
        """Deliver a message to the task waiting for it (only ``spiff_task_id`` when given);
        False when nothing waits for it."""
        if spiff_task_id is not None:
            return self._send_to_task(name, payload, spiff_task_id)
        return self._send_event(MessageEventDefinition, name, payload)

    def message_catchers(self, name: str, local_keys: dict) -> list[str]:
        """Ids of the tasks waiting for this message whose own data holds ``local_keys``."""
        return [
            str(task.id)
            for task, _ in self._catchers(MessageEventDefinition, name)
            if all(task.data.get(key, _ABSENT) == value for key, value in local_keys.items())
        ]

    def _send_to_task(self, name: str, payload: dict | None, spiff_task_id: str) -> bool:
        matches = [(t, d) for t, d in self._catchers(MessageEventDefinition, name) if str(t.id) == spiff_task_id]
        if not matches:
            return False
        task, definition = matches[0]
        for target in (task, task.parent):
            if target is not None and payload:
                target.data.update(payload)
        event_payload = payload or {}
        if isinstance(definition, CamundaMessageEventDefinition):
            event_payload = {"payload": event_payload, "result_var": None, "as_variables": True}
        event = BpmnEvent(definition, event_payload)
        task.task_spec.catch(task, event)
        task.task_spec._update(task)
        self.advance()
        return True

    def send_signal(self, name: str, payload: dict | None = None) -> bool:
        """Deliver a signal to every task of this workflow waiting for it; False when none waits."""
        return self._send_event(SignalEventDefinition, name, payload)

    def _trigger_starts(self, cls=None, name: str | None = None) -> list[tuple[Any, Any]]:
        """(start event spec, definition) of the process's event subprocesses that a message or
        signal would start now: an interrupting one until it started, a non-interrupting one
        whenever the instance runs. SpiffWorkflow starts them when it catches the event."""
        if self.workflow.is_completed():
            return []
        found = []
        started = {sub.spec.name for sub in self.workflow.subprocesses.values()}
        specs = [
            self.workflow.subprocess_specs.get(name) for name in getattr(self.workflow.spec.start, "trigger_specs", [])
        ]
        specs = [s for s in specs if s is not None]
        if any(s.name in started and any(getattr(e, "interrupting", True) for e in s.bpmn_start_events) for s in specs):
            return []  # an interrupting event subprocess took over the process: nothing else starts
        for sub_spec in specs:
            spec_name = sub_spec.name
            for start in sub_spec.bpmn_start_events:
                definition = start.event_definition
                if not isinstance(definition, MessageEventDefinition | SignalEventDefinition):
                    continue
                if cls is not None and (not isinstance(definition, cls) or definition.name != name):
                    continue
                if getattr(start, "interrupting", True) and spec_name in started:
                    continue
                found.append((start, definition))
        return found

    def _send_event(self, definition_class, name: str, payload: dict | None) -> bool:
        """As in Camunda, the payload becomes process variables of the instance before it moves
        on (both dialects; SpiffWorkflow would put it in one variable, or drop it)."""
        catchers = self._catchers(definition_class, name)
        triggers = self._trigger_starts(definition_class, name)
        if not catchers and not triggers:
            return False
        if triggers:
            return self._start_event_subprocess(triggers[0], payload)
        if payload:
            for task, _ in catchers:
                # the event takes its parent's data again when it fires: both carry the payload
                for target in (task, task.parent):
                    if target is not None:
                        target.data.update(payload)
        definition = catchers[0][1]
        event_payload = payload or {}
        if isinstance(definition, CamundaMessageEventDefinition):
            event_payload = {"payload": event_payload, "result_var": None, "as_variables": True}
        caught = self.workflow.event_manager.catch(BpmnEvent(definition, event_payload), internal=False)
        self.advance()
        return caught > 0

    def _start_event_subprocess(self, trigger, payload: dict | None) -> bool:
        """Start an event subprocess on its message or signal: it sees the process variables
        and the payload; an interrupting one cancels the rest of the process first."""
        start, definition = trigger
        variables = {**self.variables(), **(payload or {})}
        if payload:
            self.set_variables(payload, [])  # process variables: the main flow sees them too
        before = set(self.workflow.subprocesses)
        event_payload = payload or {}
        if isinstance(definition, CamundaMessageEventDefinition):
            event_payload = {"payload": event_payload, "result_var": None, "as_variables": True}
        caught = self.workflow.event_manager.catch(BpmnEvent(definition, event_payload), internal=False)
        new = [task_id for task_id in self.workflow.subprocesses if task_id not in before]
        for task_id in new:
            self.workflow.get_task_from_id(task_id).data.update(variables)
            for task in self.workflow.subprocesses[task_id].get_tasks(state=TaskState.NOT_FINISHED_MASK):
                task.data.update(variables)
        if getattr(start, "interrupting", True):
            root = self.workflow.task_tree
            for child in list(root.children):
                if child.id not in new:
                    child.cancel()
        self.advance()
        return caught > 0 or bool(new)

    def fire_timer(self, spiff_task_id: str) -> None:
        """Fire a due timer and advance (used by the job runner).

        A date or duration timer fires. A cycle timer lets one more cycle pass (a child token,
        as SpiffWorkflow does on its clock) and keeps waiting for the next.
        """
        task = self.find_task(spiff_task_id)
        if task is None or task.state != TaskState.WAITING:
            raise EngineActionError("The timer is no longer waiting")
        definition = task.task_spec.event_definition
        if isinstance(definition, CycleTimerEventDefinition):
            past = datetime.now(UTC) - timedelta(seconds=1)
            current = task._get_internal_data("event_value")
            if current is None:
                duration = (current or {}).get("duration", 0)
                task._set_internal_data(event_value={"cycles": 1, "next": past.isoformat(), "duration": duration})
            else:
                current["next"] = min(datetime.fromisoformat(current["next"]), past).isoformat()
                task._set_internal_data(event_value=current)
        else:
            task._set_internal_data(event_fired=True)
        task.task_spec._update(task)
        self.advance()

    def throw_error(self, spiff_task_id: str, code: str, message: str = "", *, escalation: bool = False) -> bool:
        """Throw a BPMN error (or escalation) from a waiting task: a connector failure mapped
        to an error code, or an SLA step. True when a boundary or event subprocess caught it."""
        task = self.find_task(spiff_task_id)
        if task is None:
            raise EngineActionError("No such task in this instance")
        definition_class = EscalationEventDefinition if escalation else ErrorEventDefinition
        event = BpmnEvent(definition_class(code, code=code), payload={"message": message}, target=task.workflow)
        caught = self.workflow.event_manager.catch(event)
        self.advance()
        return bool(caught)

    def prime_start_timer(self, element_id: str) -> None:
        """Before the first advance of an instance the schedule starts: its timer start event
        passes exactly one token at once (SpiffWorkflow would replay every past cycle)."""
        past = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
        for task in self.workflow.get_tasks():
            if getattr(task.task_spec, "bpmn_id", None) != element_id:
                continue
            if isinstance(getattr(task.task_spec, "event_definition", None), CycleTimerEventDefinition):
                task._set_internal_data(event_value={"cycles": 1, "next": past, "duration": 0})
            else:
                task._set_internal_data(event_fired=True)

    def merge_orphaned_children(self) -> int:
        """Hand completed multi-instance children their parent never heard of back to it (an
        instance stalled by the SpiffWorkflow defect that ``bundle._settle_loop_specs`` fixes);
        returns how many, and advances when there were any."""
        merged_now = 0
        for task in self.workflow.get_tasks(state=TaskState.STARTED):
            spec = task.task_spec
            inner = getattr(spec, "task_spec", None)
            if not isinstance(inner, str) or not hasattr(spec, "merge_child"):
                continue
            merged = set(task.internal_data.get("merged", []))
            for child in task.children:
                if child.task_spec.name == inner and child.state == TaskState.COMPLETED and str(child.id) not in merged:
                    spec.merge_child(self.workflow, child)
                    merged_now += 1
        if merged_now:
            self.advance()
        return merged_now

    def cancel(self) -> None:
        self.workflow.cancel()

    # -- reading ----------------------------------------------------------------------
    def waiting(self, with_data: bool = False) -> list[WaitPoint]:
        points: list[WaitPoint] = []
        for task in self.workflow.get_tasks(state=TaskState.READY | TaskState.WAITING):
            spec = task.task_spec
            element_id = getattr(spec, "bpmn_id", None)
            if not element_id:
                continue
            name = getattr(spec, "bpmn_name", "") or ""
            if task.state == TaskState.READY and held(task):
                points.append(WaitPoint(str(task.id), element_id, _element_type(spec), name, "async"))
                continue
            if task.state == TaskState.READY and spec.manual:
                event_name = ""
                if isinstance(spec, ConnectorServiceTask):
                    kind = "service"
                elif isinstance(spec, ExternalServiceTask):
                    kind, event_name = "external", spec.topic
                elif isinstance(spec, TriggeredReceiveTask):
                    kind = "receive"
                else:
                    kind = "user" if "user" in _element_type(spec).lower() else "manual"
                points.append(
                    WaitPoint(
                        str(task.id),
                        element_id,
                        _element_type(spec),
                        name,
                        kind,
                        event_name=event_name,
                        data=serializer.to_json_value(task.data) if with_data else None,
                        process_key=_process_key(task),
                    )
                )
                continue
            if task.state != TaskState.WAITING or not isinstance(spec, CatchingEvent):
                continue
            for target, definition in _event_definitions(spec):
                target_id = getattr(target, "bpmn_id", None) or element_id
                target_name = getattr(target, "bpmn_name", "") or name
                point = WaitPoint(str(task.id), target_id, _element_type(target), target_name, "other")
                if isinstance(definition, TimerEventDefinition):
                    point.kind = "timer"
                    point.due_at = _timer_due(task, definition)
                elif isinstance(definition, MessageEventDefinition):
                    point.kind, point.event_name = "message", definition.name or ""
                elif isinstance(definition, SignalEventDefinition):
                    point.kind, point.event_name = "signal", definition.name or ""
                elif isinstance(definition, ConditionalEventDefinition):
                    point.kind, point.event_name = "conditional", (definition.expression or "")[:255]
                else:
                    continue  # error/escalation boundary events wait on their activity, not on the outside
                points.append(point)
        if points:  # event subprocesses wait beside the main flow, never alone
            points.extend(self._trigger_points())
        return points

    def _trigger_points(self) -> list[WaitPoint]:
        root_id = str(self.workflow.task_tree.id)
        points = []
        for start, definition in self._trigger_starts():
            kind = "message" if isinstance(definition, MessageEventDefinition) else "signal"
            points.append(
                WaitPoint(
                    root_id,
                    start.bpmn_id,
                    _element_type(start),
                    getattr(start, "bpmn_name", "") or "",
                    kind,
                    event_name=definition.name or "",
                )
            )
        return points

    def waiting_element_ids(self) -> list[str]:
        """Element ids of every task that is started or waiting (including subprocess activities)."""
        ids = []
        for task in self.workflow.get_tasks(state=TaskState.WAITING | TaskState.STARTED | TaskState.READY):
            element_id = getattr(task.task_spec, "bpmn_id", None)
            if element_id and element_id not in ids:
                ids.append(element_id)
        return ids

    def set_variables(self, changes: dict, remove: list[str]) -> None:
        """Change the data every open step carries (the instance's variables while it waits)."""
        tasks = self.workflow.get_tasks(state=TaskState.READY | TaskState.WAITING | TaskState.STARTED)
        if not tasks and self.workflow.last_task is not None:
            tasks = [self.workflow.last_task]
        # A waiting event takes its parent's data when it fires, over its own: change both.
        targets = {task.id: task for task in tasks}
        for task in tasks:
            if task.state == TaskState.WAITING and task.parent is not None:
                targets.setdefault(task.parent.id, task.parent)
        for task in targets.values():
            task.data.update(changes)
            for name in remove:
                task.data.pop(name, None)

    def variables(self) -> dict:
        wf = self.workflow
        if wf.is_completed():
            # Parallel branches each carry their own data; merge them in the order they finished.
            finished = sorted(
                wf.get_tasks(state=TaskState.COMPLETED, skip_subprocesses=True), key=lambda t: t.last_state_change
            )
            data = {}
            for task in finished:
                data.update(task.data)
            data.update(wf.data)
        else:
            data = {}
            open_tasks = wf.get_tasks(
                state=TaskState.READY | TaskState.WAITING | TaskState.STARTED, skip_subprocesses=True
            )
            if not open_tasks and wf.last_task is not None:
                open_tasks = [wf.last_task]
            for task in open_tasks:
                data.update(task.data)
        data.pop("data_objects", None) if not data.get("data_objects") else None
        return serializer.to_json_value(data)

    def outcome(self) -> RunOutcome:
        if self.error is not None:
            status = "error"
        elif self.workflow.is_completed():
            status = "completed"
        else:
            status = "running"
        events = [_thrown_event(e) for e in self.workflow.get_events()]
        if status == "running":
            compaction.compact(self.workflow)
        return RunOutcome(
            state=serializer.dump(self.workflow, self.specs.dialect),
            status=status,
            variables=self.variables(),
            steps=self.steps,
            waiting=[] if status == "completed" else self.waiting(with_data=True),
            error_message=_error_text(self.error) if self.error else "",
            error_element_id=self.error_element_id,
            unhandled_events=events,
        )


def _process_key(task) -> str:
    """The key of the process whose element the task is (a called process's, inside a call)."""
    workflow = task.workflow
    while getattr(workflow, "parent_task_id", None) is not None:
        parent_task = workflow.top_workflow.get_task_from_id(workflow.parent_task_id)
        if isinstance(parent_task.task_spec, CallActivity):
            return workflow.spec.name
        workflow = parent_task.workflow
    return ""


def _thrown_event(event) -> dict:
    """A message or signal the workflow threw that nothing inside it caught."""
    definition = event.event_definition
    if isinstance(definition, MessageEventDefinition):
        kind = "message"
    elif isinstance(definition, SignalEventDefinition):
        kind = "signal"
    else:
        kind = type(definition).__name__
    payload = event.payload if isinstance(event.payload, dict) else {}
    return {"kind": kind, "name": getattr(definition, "name", "") or "", "payload": serializer.to_json_value(payload)}


def _event_definitions(spec) -> list[tuple[Any, Any]]:
    """(element, event definition) pairs a catching task waits on.

    An event-based gateway holds the definitions of the events after it, in the order
    of its outputs; every other catching event waits on its own definition(s).
    """
    definition = spec.event_definition
    if isinstance(definition, MultipleEventDefinition):
        if isinstance(spec, EventBasedGateway):
            return list(zip(spec.outputs, definition.event_definitions, strict=False))
        return [(spec, d) for d in definition.event_definitions]
    return [(spec, definition)]


def _error_text(exc: Exception) -> str:
    """The engine's message with the root cause (a budget, a name error...) that says what to fix."""
    text = str(exc)
    cause, seen = exc, 0
    while seen < 10:  # SpiffWorkflow wraps a cell's error in a rule's, in a task's
        inner = getattr(cause, "exception", None) or cause.__cause__ or cause.__context__
        if inner is None or inner is cause:
            break
        cause, seen = inner, seen + 1
    if cause is not exc and str(cause) not in text:
        text = f"{text} ({type(cause).__name__}: {cause})"
    return text


def _timer_due(task, definition) -> datetime | None:
    try:
        details = definition.details(task)
    except Exception:  # a timer expression that fails is reported when the timer runs
        return None
    value = getattr(details, "value", None)
    if not value:
        return None
    try:
        due = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None
    if due is not None and due.tzinfo is None:
        due = due.replace(tzinfo=UTC)
    return due
