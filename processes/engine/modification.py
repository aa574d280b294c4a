"""Process instance modification (Camunda 7's ``process-instance/{id}/modification``): cancel
activity instances, start before or after an activity, in one command.

An activity instance here is the SpiffWorkflow task that runs the activity; its id is the
task id the waiting steps and human tasks carry. A token started before an activity is a new
task under the root of its scope, with the scope's variables; the command's engine steps then
run it as Camunda runs the new activity instance.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from .migration import JOIN, LIVE, SPLIT, _element_of, _live_tasks, _predict_outputs, _scopes, catalogue

KINDS = ("cancel", "start_before", "start_after")


@dataclass
class Instruction:
    kind: str
    element_id: str = ""
    activity_instance_id: str = ""  # cancel one activity instance (a task id)
    ancestor_id: str = ""  # start inside this running subprocess (its task id)
    variables: dict = field(default_factory=dict)


class ModificationError(Exception):
    def __init__(self, message: str, *, element_id: str = "", index: int | None = None):
        super().__init__(message)
        self.element_id = element_id
        self.index = index


def apply(run, instructions: list[Instruction]) -> list[str]:
    """Apply the instructions in order; the element ids of what was cancelled."""
    cancelled: list[str] = []
    for index, item in enumerate(instructions):
        try:
            if item.kind == "cancel":
                cancelled += _cancel(run.workflow, item)
            elif item.kind in ("start_before", "start_after"):
                _start(run, item)
            else:
                raise ModificationError(f"unknown instruction '{item.kind}'")
        except ModificationError as exc:
            exc.index = index if exc.index is None else exc.index
            exc.element_id = exc.element_id or item.element_id
            raise
    return cancelled


def nothing_runs(workflow) -> bool:
    """No activity instance is left (every one was cancelled): the instance ends, as in Camunda."""
    return not any(True for _ in _live_tasks(workflow))


# ---------------------------------------------------------------------------
# Cancelling


def _cancel(workflow, item: Instruction) -> list[str]:
    if item.activity_instance_id:
        task = _task_by_id(workflow, item.activity_instance_id)
        if task is None or not task.has_state(LIVE):
            raise ModificationError(f"no running activity instance '{item.activity_instance_id}'")
        if getattr(task.task_spec, "bpm_tag", "") == "boundaryEvent":
            raise ModificationError(
                f"'{_element_of(task)}' is a boundary event: it stops with its activity (cancel the activity)",
                element_id=_element_of(task),
            )
        targets = [task]
    else:
        targets = [t for t in _live_tasks(workflow) if _element_of(t) == item.element_id and _is_activity(t)]
        if not targets:
            raise ModificationError(f"the instance is not at '{item.element_id}'", element_id=item.element_id)
    done = []
    for task in targets:
        if task.has_state(LIVE):
            done.append(_cancel_task(workflow, task))
    return done


def _task_by_id(workflow, task_id: str):
    for scope, _ in _scopes(workflow):
        for task in scope.get_tasks(skip_subprocesses=True):
            if str(task.id) == task_id:
                return task
    return None


def _is_activity(task) -> bool:
    """The task that stands for an element's instance: the activity itself (a multi-instance
    as a whole), not its engine wrappers or a boundary event beside it."""
    name = task.task_spec.name
    boundary = getattr(task.task_spec, "bpm_tag", "") == "boundaryEvent"
    return not name.endswith((SPLIT, JOIN)) and not _loop_child(task) and not boundary


def _loop_child(task) -> bool:
    parent = task.parent
    return parent is not None and getattr(parent.task_spec, "task_spec", None) == task.task_spec.name


def _cancel_task(workflow, task) -> str:
    element = _element_of(task)
    if _loop_child(task):
        raise ModificationError(
            f"'{element}' is one instance of a multi-instance activity: cancel the activity as a whole",
            element_id=element,
        )
    parent = task.parent
    if parent is not None and parent.task_spec.name.endswith(SPLIT):
        for sibling in parent.children:  # its boundary events stop waiting with it
            if sibling is not task and sibling.has_state(LIVE):
                sibling.cancel()
    task.cancel()
    scope = task.workflow
    if scope is not workflow and not any(t.has_state(LIVE) for t in scope.get_tasks(skip_subprocesses=True)):
        # the subprocess has nothing left running: it ends with its last activity instance
        holder = workflow.get_task_from_id(scope.parent_task_id)
        if holder is not None and holder.has_state(LIVE):
            _cancel_task(workflow, holder)
    return element


# ---------------------------------------------------------------------------
# Starting


def _start(run, item: Instruction) -> None:
    workflow = run.workflow
    elements = catalogue(run.specs)
    element = elements.get(item.element_id)
    if element is None:
        raise ModificationError(f"'{item.element_id}' is not an element of this version", element_id=item.element_id)
    if element.tag in ("boundaryEvent",):
        raise ModificationError(f"'{item.element_id}' is a boundary event: it starts with its activity only")
    scope = _scope_for(workflow, element.scope, item.ancestor_id)
    spec = element.spec
    if item.kind == "start_after":
        following = [o for o in spec.outputs if not o.name.endswith(JOIN) and getattr(o, "bpmn_id", None)]
        if len(following) != 1:
            raise ModificationError(
                f"'{item.element_id}' has {len(following) or 'no'} outgoing sequence flow{'s' if len(following) != 1 else ''}: "
                "start before the element you mean",
            )
        spec = following[0]
    else:
        spec = scope.spec.task_specs.get(spec.name + SPLIT, spec)
    if item.variables:
        run.set_variables(item.variables, [])
    root = scope.task_tree
    token = Task(scope, spec, root, state=TaskState.FUTURE)
    token.data = {**copy.deepcopy(_scope_data(run, scope)), **copy.deepcopy(item.variables)}
    spec._update(token)
    _predict_outputs(token)


def _scope_for(workflow, scope_element: str | None, ancestor_id: str):
    if scope_element is None:
        return workflow
    running = [sub for sub, element in _scopes(workflow) if element == scope_element]
    if ancestor_id:
        running = [sub for sub in running if str(sub.parent_task_id) == ancestor_id]
    if not running:
        raise ModificationError(
            f"subprocess '{scope_element}' is not running{' as ' + ancestor_id if ancestor_id else ''}: "
            f"start before '{scope_element}' instead",
        )
    if len(running) > 1:
        raise ModificationError(
            f"subprocess '{scope_element}' runs {len(running)} times: name the one (ancestor activity instance id)"
        )
    return running[0]


def _scope_data(run, scope) -> dict:
    if scope is run.workflow:
        return run.variables()
    data: dict = {}
    for task in scope.get_tasks(state=LIVE, skip_subprocesses=True):
        data.update(task.data)
    return data
