"""Move a running workflow to another definition version (Camunda 7's process instance migration).

A plan is a list of instructions, each mapping the elements of the source version to
elements of the target (``sourceActivityIds -> targetActivityIds``). It is checked twice, as
Camunda checks it:

- against the two versions (``plan_problems``): both ends exist, are the same kind of element,
  keep their scope (top level, embedded subprocess) and their multi-instance;
- against each instance (``instance_problems``): every element the instance is at is mapped,
  a boundary event waiting for a timer, message, signal or condition keeps a counterpart,
  a changed message or signal is only taken with ``updateEventTrigger``.

``migrate`` then swaps the specs of the task tree in place, so every task keeps its id, data
and state: waiting steps, human tasks and jobs stay attached to it. What the target adds
around a running activity (a boundary event) starts waiting; predictions are rebuilt from
the target. Subworkflows of call activities keep the version their call started.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from SpiffWorkflow.bpmn.specs.control import BoundaryEventSplit
from SpiffWorkflow.bpmn.specs.event_definitions.conditional import ConditionalEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import SignalEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import SubWorkflowTask
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from .run_events import _event_definitions as _catching_definitions


def _event_definitions(spec) -> list:
    return _catching_definitions(spec) if getattr(spec, "event_definition", None) is not None else []


LIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED
SUBSCRIBING = (TimerEventDefinition, MessageEventDefinition, SignalEventDefinition, ConditionalEventDefinition)
SCOPE_TAGS = ("subProcess", "transaction")
SPLIT, JOIN, CHILD = ".BoundaryEventSplit", ".BoundaryEventJoin", " [child]"


@dataclass(frozen=True)
class Instruction:
    source: str
    target: str
    update_event_trigger: bool = False


@dataclass
class Problem:
    element_id: str
    message: str

    def as_dict(self) -> dict:
        return {"element_id": self.element_id, "message": self.message}


@dataclass
class Element:
    """One BPMN element of a version, as migration sees it."""

    spec: object
    tag: str
    scope: str | None  # the embedded subprocess it is in, None at the top
    multi_instance: str  # "", "parallel" or "sequential"


@dataclass
class Migrated:
    """What ``migrate`` changed: waiting tasks whose element changed, and tasks whose event
    trigger must be recreated (their waiting rows and jobs are renewed)."""

    moved: dict[str, tuple[str, str]] = field(default_factory=dict)  # spiff task id -> (old, new element)
    retriggered: set[str] = field(default_factory=set)
    added_events: list[str] = field(default_factory=list)
    removed_events: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------
# The elements of a version


def catalogue(specs) -> dict[str, Element]:
    """Every BPMN element of the process and its embedded subprocesses, by id (kept on the
    cached specs: a deployed version never changes)."""
    cached = specs.__dict__.get("_bpm_catalogue")
    if cached is None:
        cached = specs.__dict__["_bpm_catalogue"] = _catalogue(specs)
    return cached


def _catalogue(specs) -> dict[str, Element]:
    found: dict[str, Element] = {}

    def walk(process_spec, scope: str | None) -> None:
        for spec in process_spec.task_specs.values():
            bpmn_id = getattr(spec, "bpmn_id", None)
            if not bpmn_id or spec.name != bpmn_id or bpmn_id in found:
                continue
            tag = getattr(spec, "bpm_tag", "") or type(spec).__name__
            found[bpmn_id] = Element(spec, tag, scope, _loop_kind(spec))
            if tag in SCOPE_TAGS and isinstance(spec, SubWorkflowTask):
                inner = specs.subprocess_specs.get(spec.spec)
                if inner is not None:
                    walk(inner, bpmn_id)

    walk(specs.spec, None)
    return found


def _loop_kind(spec) -> str:
    if not isinstance(spec, LoopTask):
        return ""
    return "sequential" if "Sequential" in type(spec).__name__ else "parallel"


def generate(source, target, *, update_event_triggers: bool = False) -> list[Instruction]:
    """Camunda's generated plan: every element whose id and kind are in both versions, in the same scope."""
    old, new = catalogue(source), catalogue(target)
    instructions = []
    for element_id, element in old.items():
        counterpart = new.get(element_id)
        if counterpart is None or counterpart.tag != element.tag or element.tag == "startEvent" and element.scope:
            continue
        if counterpart.scope != element.scope or counterpart.multi_instance != element.multi_instance:
            continue
        instructions.append(Instruction(element_id, element_id, update_event_triggers and _has_trigger(element.spec)))
    return instructions


def _has_trigger(spec) -> bool:
    return any(isinstance(d, SUBSCRIBING) for _, d in _event_definitions(spec))


def plan_problems(source, target, instructions: list[Instruction]) -> list[Problem]:
    """What is wrong with a plan whatever the instance: unknown ids, kinds, scopes, loops."""
    old, new = catalogue(source), catalogue(target)
    problems: list[Problem] = []
    mapping: dict[str, str] = {}
    for item in instructions:
        if item.source not in old:
            problems.append(Problem(item.source, f"'{item.source}' is not an element of the source version"))
            continue
        if item.target not in new:
            problems.append(Problem(item.source, f"'{item.target}' is not an element of the target version"))
            continue
        if item.source in mapping:
            problems.append(Problem(item.source, f"'{item.source}' is mapped twice"))
            continue
        mapping[item.source] = item.target
    targets = list(mapping.values())
    for source_id, target_id in mapping.items():
        a, b = old[source_id], new[target_id]
        if targets.count(target_id) > 1 and a.tag != "boundaryEvent":
            problems.append(Problem(source_id, f"'{target_id}' is the target of more than one element"))
        if a.tag != b.tag:
            problems.append(Problem(source_id, f"'{source_id}' is a {a.tag}, its target '{target_id}' a {b.tag}"))
        elif a.multi_instance != b.multi_instance:
            problems.append(
                Problem(
                    source_id,
                    f"the multi-instance of '{source_id}' changes "
                    f"({a.multi_instance or 'none'} to {b.multi_instance or 'none'})",
                )
            )
        expected_scope = mapping.get(a.scope) if a.scope else None
        if b.scope != expected_scope:
            where = f"subprocess '{b.scope}'" if b.scope else "the top level"
            problems.append(
                Problem(
                    source_id,
                    f"'{target_id}' is in {where}, not in the counterpart of "
                    f"{'subprocess ' + repr(a.scope) if a.scope else 'the top level'}: the scope of a running "
                    "element cannot change",
                )
            )
        if a.tag == "boundaryEvent":
            attached, attached_to = _attached(a.spec, old), _attached(b.spec, new)
            if attached and mapping.get(attached) != attached_to:
                problems.append(
                    Problem(
                        source_id,
                        f"boundary event '{source_id}' would be attached to '{attached_to}', "
                        f"not to the counterpart of '{attached}'",
                    )
                )
    return problems


def _attached(event_spec, elements: dict[str, Element]) -> str | None:
    """The activity a boundary event is attached to (its split's activity)."""
    for spec in event_spec.inputs:
        if isinstance(spec, BoundaryEventSplit) and spec.name.endswith(SPLIT):
            return spec.name[: -len(SPLIT)]
    return None


# ---------------------------------------------------------------------------
# An instance against a plan


def _element_of(task) -> str:
    """The BPMN element a task stands for ('' for the engine's own tasks)."""
    name = task.task_spec.name
    for suffix in (SPLIT, JOIN, CHILD):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    bpmn_id = getattr(task.task_spec, "bpmn_id", None)
    return bpmn_id if bpmn_id == name else ""


def _scopes(workflow):
    """The workflow and the subworkflows of its running embedded subprocesses, each with the
    subprocess element it runs (None for the top)."""
    yield workflow, None
    for task_id, sub in list(workflow.subprocesses.items()):
        parent = workflow.get_task_from_id(task_id)
        if parent is None or getattr(parent.task_spec, "bpm_tag", "") not in SCOPE_TAGS:
            continue  # a call activity's process keeps its own version
        yield sub, _element_of(parent)


def _live_tasks(workflow):
    for scope, _ in _scopes(workflow):
        yield from scope.get_tasks(state=LIVE, skip_subprocesses=True)


def instance_problems(workflow, source, target, instructions: list[Instruction]) -> list[Problem]:
    """What stops this instance from moving with the plan (empty: it can)."""
    mapping = {i.source: i for i in instructions}
    new = catalogue(target)
    problems: list[Problem] = []
    for task in _live_tasks(workflow):
        element_id = _element_of(task)
        if not element_id:
            continue
        item = mapping.get(element_id)
        spec = task.task_spec
        if item is None:
            if getattr(spec, "bpm_tag", "") != "boundaryEvent":  # those: _lost_boundary_events
                what = "waits at" if task.state != TaskState.STARTED else "is inside"
                problems.append(Problem(element_id, f"the instance {what} '{element_id}', which the plan does not map"))
            continue
        element = new.get(item.target)
        if element is None:
            continue  # a plan problem, reported with the plan
        if task.state == TaskState.WAITING and not item.update_event_trigger:
            change = _trigger_change(spec, element.spec)
            if change:
                problems.append(Problem(element_id, f"{change}: ask updateEventTrigger to wait for the new one"))
        called = getattr(spec, "spec", None) if getattr(spec, "bpm_tag", "") == "callActivity" else None
        if called and task.state == TaskState.STARTED and getattr(element.spec, "spec", None) != called:
            problems.append(
                Problem(element_id, f"the running call of '{called}' would call '{element.spec.spec}' in the target")
            )
    problems += _lost_boundary_events(workflow, mapping)
    return problems


def _subscribes(task) -> bool:
    return task.state == TaskState.WAITING and _has_trigger(task.task_spec)


def _trigger_change(old_spec, new_spec) -> str:
    old, new = _triggers(old_spec), _triggers(new_spec)
    if old == new or not old:
        return ""
    if old[0] != new[0] if new else True:
        return f"'{old_spec.bpmn_id}' would wait for a {new[0] if new else 'nothing'} instead of a {old[0]}"
    if old[0] == "timer":
        return ""  # the timer keeps its due date unless asked, as in Camunda
    return f"the {old[0]} of '{old_spec.bpmn_id}' changes from '{old[1]}' to '{new[1]}'"


def _triggers(spec) -> tuple[str, str] | tuple:
    for _, definition in _event_definitions(spec):
        if isinstance(definition, TimerEventDefinition):
            return ("timer", getattr(definition, "expression", ""))
        if isinstance(definition, MessageEventDefinition):
            return ("message", definition.name or "")
        if isinstance(definition, SignalEventDefinition):
            return ("signal", definition.name or "")
        if isinstance(definition, ConditionalEventDefinition):
            return ("condition", definition.expression or "")
    return ()


def _lost_boundary_events(workflow, mapping: dict[str, Instruction]) -> list[Problem]:
    """A waiting boundary event (timer, message, signal, condition) whose activity moves but
    which has no counterpart would stop waiting without anyone asking for it."""
    problems = []
    for task in _live_tasks(workflow):
        if getattr(task.task_spec, "bpm_tag", "") == "boundaryEvent" and _subscribes(task):
            if _element_of(task) not in mapping:
                activity = task.parent.task_spec.name[: -len(SPLIT)] if task.parent else ""
                problems.append(
                    Problem(
                        _element_of(task),
                        f"boundary event '{_element_of(task)}' of '{activity}' waits and has no counterpart: "
                        "it would be lost",
                    )
                )
    return problems


# ---------------------------------------------------------------------------
# Moving the tree


def migrate(workflow, source, target, instructions: list[Instruction]) -> Migrated:
    """Swap the workflow onto the target's specs in place (call only without problems)."""
    mapping = {i.source: i for i in instructions}
    new = catalogue(target)
    result = Migrated()
    old_subprocess_specs = workflow.subprocess_specs
    scopes = list(_scopes(workflow))
    for scope, scope_element in scopes:
        target_spec = target.spec if scope_element is None else _inner_spec(target, new, mapping, scope_element)
        _migrate_scope(scope, target_spec, mapping, result)
    # the target's processes, and what running calls were given (their recorded versions)
    workflow.subprocess_specs = {**old_subprocess_specs, **target.subprocess_specs}
    return result


def _inner_spec(target, new: dict[str, Element], mapping, scope_element: str):
    element = new[mapping[scope_element].target]
    return target.subprocess_specs[element.spec.spec]


def _migrate_scope(scope, target_spec, mapping: dict[str, Instruction], result: Migrated) -> None:
    old_spec_name = scope.spec.name
    scope.spec = target_spec
    live = [t for t in scope.get_tasks(state=LIVE, skip_subprocesses=True)]
    for task in live:  # predictions come again from the target
        for child in list(task.children):
            if not child.has_state(LIVE | TaskState.FINISHED_MASK):
                scope._remove_task(child.id)
    for task in list(scope.get_tasks(skip_subprocesses=True)):
        if task.id not in scope.tasks:
            continue
        new_spec = _target_spec_of(task, target_spec, mapping, old_spec_name)
        if new_spec is None:
            _drop_or_splice(scope, task, result)
            continue
        old_element = _element_of(task)
        item = mapping.get(old_element)
        task.task_spec = new_spec
        if task.has_state(LIVE):
            new_element = _element_of(task)
            if old_element and new_element != old_element:
                result.moved[str(task.id)] = (old_element, new_element)
            if item is not None and item.update_event_trigger and task.state == TaskState.WAITING:
                _retrigger(task)
                result.retriggered.add(str(task.id))
    for task in [t for t in scope.get_tasks(state=LIVE, skip_subprocesses=True)]:
        _fit_boundary_events(scope, task, target_spec, result)
    for task in scope.get_tasks(state=LIVE, skip_subprocesses=True):
        _predict_outputs(task)
    if scope.last_task is not None and scope.last_task.id not in scope.tasks:
        scope.last_task = None


def _predict_outputs(task) -> None:
    """What follows a live task, as SpiffWorkflow predicts it when the task becomes definite
    (a task completes into its predicted children only). A task with running children (a
    multi-instance, a subprocess) gets its missing outputs beside them."""
    if not task.children:
        task.task_spec._predict(task, mask=TaskState.NOT_FINISHED_MASK)
        return
    present = {child.task_spec for child in task.children}
    for output in task.task_spec.outputs:
        if output not in present:
            child = task._add_child(output, TaskState.FUTURE)
            output._predict(child, mask=TaskState.PREDICTED_MASK | TaskState.FUTURE)


def _target_spec_of(task, target_spec, mapping: dict[str, Instruction], old_process: str):
    name = task.task_spec.name
    if task is task.workflow.task_tree or name in ("Start", "End"):
        return target_spec.task_specs.get(name)
    if name == f"{old_process}.EndJoin":
        return target_spec.task_specs.get(f"{target_spec.name}.EndJoin")
    element = _element_of(task)
    if not element:
        return target_spec.task_specs.get(name)
    item = mapping.get(element)
    target_element = item.target if item is not None else None
    if target_element is None:
        if task.has_state(LIVE):
            return None
        target_element = element if element in target_spec.task_specs else None
        if target_element is None:
            return None
    suffix = name[len(element) :]
    return target_spec.task_specs.get(target_element + suffix)


def _drop_or_splice(scope, task, result: Migrated) -> None:
    """A task with no counterpart: a finished one leaves the tree (its children take its place),
    a live one is an unmapped boundary event without a subscription (an error boundary), dropped."""
    parent = task.parent
    if task.has_state(LIVE):
        result.removed_events.append(_element_of(task))
        scope._remove_task(task.id)
        return
    if parent is None:
        return
    index = parent._children.index(task.id)
    for child in task.children:
        child._parent = parent.id
    parent._children[index : index + 1] = list(task._children)
    task._children = []
    del scope.tasks[task.id]


def _fit_boundary_events(scope, task, target_spec, result: Migrated) -> None:
    """A running activity takes the target's boundary events: a new one starts waiting now
    (one the target no longer has left with its split; waiting ones were refused before)."""
    element = _element_of(task)
    if not element or task.task_spec.name != element or task.state not in (TaskState.READY, TaskState.STARTED):
        return
    split_spec = target_spec.task_specs.get(element + SPLIT)
    parent = task.parent
    has_split = parent is not None and parent.task_spec.name.endswith(SPLIT)
    if split_spec is None:  # a split without counterpart was spliced out with the tree
        return
    if not has_split:
        parent = _insert_split(scope, task, split_spec)
    present = {child.task_spec.name for child in parent.children}
    for event_spec in split_spec.outputs:
        if event_spec.name in present or event_spec is task.task_spec:
            continue
        event = Task(scope, event_spec, parent, state=TaskState.FUTURE)
        event.data = copy.deepcopy(task.data)
        event_spec._update(event)
        result.added_events.append(event_spec.name)


def _insert_split(scope, task, split_spec):
    parent = task.parent
    index = parent._children.index(task.id)
    split = Task(scope, split_spec, parent, state=TaskState.COMPLETED)
    parent._children.remove(split.id)
    parent._children[index] = split.id
    split.data = copy.deepcopy(task.data)
    task._parent = split.id
    split._children = [task.id]
    return split


def _retrigger(task) -> None:
    """updateEventTrigger: the event waits for what the target says, from now on."""
    task.internal_data.pop("event_value", None)
    for _, definition in _event_definitions(task.task_spec):
        if isinstance(definition, TimerEventDefinition):
            definition.has_fired(task)  # sets the new due date
