"""Run instances: build and cache specs, start, advance, and read waiting points.

The service layer holds the instance row lock; this module only turns stored state
plus an action into new state, the steps that ran and the points where the
workflow now waits. It never touches the database.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment
from SpiffWorkflow.bpmn.specs.event_definitions.conditional import ConditionalEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import (
    SignalEventDefinition,
)
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import CallActivity
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState

from . import called, compaction, expressions, scripting, serializer, spiff_patches  # noqa: F401 (patches on import)
from .approval_rules import decision_variable
from .parser import ConnectorServiceTask, ExternalServiceTask, SourceFile, TriggeredReceiveTask, build_specs
from .run_events import (  # noqa: F401 (re-exported: the run's event half)
    EventActions,
    _event_definitions,
    _thrown_event,
    _timer_due,
    _undefined_name,
    condition_holds,
)
from .run_steps import StepActions, held  # noqa: F401 (re-exported: the run's step half)
from .run_types import (  # noqa: F401 (re-exported: what a run reports back)
    _ABSENT,
    ASYNC_HOLD,
    ASYNC_PASSED,
    COMPACT_EVERY,
    COMPENSATING,
    COMPENSATION_KEY,
    MAX_CONDITION_ROUNDS,
    EngineActionError,
    RunOutcome,
    Step,
    WaitPoint,
    _element_type,
    clock,
)

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
        if expression and "execution" in expression:
            external_context = {**(external_context or {}), **execution_context(task.workflow.top_workflow)}
        return super().evaluate(task, expression, external_context)


def execution_context(workflow) -> dict[str, Any]:
    """What an expression reads of the execution (expressions.EXECUTION_NAMES): the instance's
    business key, which the run is given when it starts or loads (Run.set_business_key)."""
    return {"execution_business_key": getattr(workflow, "bpm_business_key", None)}


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


# What a run reports back: run_types.py


class Run(StepActions, EventActions):
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
        # each run its own mapping: a call may add the called version's subprocesses to it
        workflow = BpmnWorkflow(specs.spec, dict(specs.subprocess_specs), script_engine=SCRIPT_ENGINE)
        run = cls(workflow, specs)
        if variables:
            # the ready start task passes its data on to the first BPMN element
            for task in workflow.get_tasks(state=TaskState.READY):
                task.data.update(variables)
        return run

    @classmethod
    def load(cls, state: dict, specs: Specs) -> Run:
        workflow = serializer.load(state, specs.dialect, specs.spec, dict(specs.subprocess_specs))
        workflow.script_engine = SCRIPT_ENGINE
        run = cls(workflow, specs)
        run.waiting_before = {(w.spiff_task_id, w.element_id, w.kind) for w in run.waiting()}
        pending = TaskState.READY | TaskState.WAITING | TaskState.STARTED
        run.entered = {task.id: task.last_state_change for task in workflow.get_tasks(state=pending)}
        return run

    def set_business_key(self, business_key: str) -> None:
        """The instance's business key, for ``execution.processBusinessKey`` in expressions."""
        self.workflow.bpm_business_key = business_key or None

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
                        process_definition_id=called.called_definition_id(task),
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
            decisions=serializer.to_json_value(self.workflow.__dict__.pop("bpm_decisions", [])),
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
