"""Messages, signals, conditions, timers and errors: the part of a run that delivers events,
starts event subprocesses and lists what they wait for. Mixed into runtime.Run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from SpiffWorkflow.bpmn import BpmnEvent
from SpiffWorkflow.bpmn.specs.event_definitions.conditional import ConditionalEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import (
    ErrorEventDefinition,
    EscalationEventDefinition,
    SignalEventDefinition,
)
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import CycleTimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import EventBasedGateway
from SpiffWorkflow.camunda.specs.event_definitions import MessageEventDefinition as CamundaMessageEventDefinition
from SpiffWorkflow.util.task import TaskState

from . import serializer
from .run_types import _ABSENT, EngineActionError, WaitPoint, _element_type
from .spiff_patches import ERROR_MESSAGE


class EventActions:
    """Delivering events and reading what waits for them (part of runtime.Run)."""

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
        event = BpmnEvent(definition_class(code, code=code), payload={ERROR_MESSAGE: message}, target=task.workflow)
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


def condition_holds(expression: str, variables: dict) -> bool:
    """A conditional event's condition over the variables; a variable that does not exist yet
    makes it false (Camunda's tryEvaluate), any other failure is the command's."""
    try:
        return bool(_script_engine().environment.evaluate(expression, dict(variables)))
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


def _script_engine():
    from .runtime import SCRIPT_ENGINE  # runtime builds it and imports this module

    return SCRIPT_ENGINE
