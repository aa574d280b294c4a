"""Keep an instance's task tree bounded by its active tokens.

SpiffWorkflow keeps every task an instance ever ran in one tree: a loop adds a chain of
completed tasks per iteration, so the stored state, the cost of every step (each walks the
tree) and the depth grow without end, and past depth 1000 its iterators stop seeing the
open tasks at all. Nothing reads most completed tasks again: what happened is in the
instance's history, and open tasks already carry the data they inherited. So, after a
command and every so often during a long run, completed tasks are removed from the tree:

- a completed task with one child that has already taken its data is spliced out (the
  child moves up to its grandparent), unless something still reads it: the parent of a
  join (joins look at their predecessors), the workflow's last task, a subprocess's task;
- a finished leaf under a finished parent is dropped (a branch's cancelled events, the
  instances of a finished multi-instance, a join that fired), except a cancelled join
  task that a waiting join may still count: it goes once a later one of its gateway fired;
- at the end of a command, the subworkflows of finished call activities and subprocesses.
"""

from __future__ import annotations

from SpiffWorkflow.specs.Join import Join
from SpiffWorkflow.util.task import TaskState

FINISHED = TaskState.COMPLETED | TaskState.CANCELLED
# The child has taken its parent's data (inherited on becoming ready): its parent may go.
_INHERITED = TaskState.READY | TaskState.STARTED | TaskState.COMPLETED | TaskState.ERROR | TaskState.CANCELLED


def compact(workflow, *, subprocesses: bool = True) -> int:
    """Remove what no open task needs from a workflow and its subworkflows; return how many tasks went."""
    if workflow.is_completed():
        return 0
    removed = 0
    if subprocesses:
        removed += _drop_finished_subprocesses(workflow)
    for each in [workflow, *workflow.subprocesses.values()]:
        removed += _compact_tree(each, workflow)
    return removed


def _drop_finished_subprocesses(top) -> int:
    removed = 0
    for task_id in list(top.subprocesses):
        if task_id not in top.subprocesses:
            continue  # went with its parent subprocess
        task = top.get_task_from_id(task_id) if _has_task(top, task_id) else None
        if task is not None and not task.has_state(FINISHED):
            continue
        sub = top.subprocesses[task_id]
        nested = [t for t, s in top.subprocesses.items() if s.parent_workflow is sub]
        for child_id in nested:
            top.subprocesses.pop(child_id, None)
        removed += len(sub.tasks)
        del top.subprocesses[task_id]
    return removed


def _has_task(top, task_id) -> bool:
    if task_id in top.tasks:
        return True
    return any(task_id in sub.tasks for sub in top.subprocesses.values())


def _is_join(task) -> bool:
    return isinstance(task.task_spec, Join)


def _fired_after(join_task, fired: dict) -> bool:
    latest = fired.get(join_task.task_spec)
    return latest is not None and latest >= join_task.last_state_change


def _compact_tree(workflow, top) -> int:
    tasks = workflow.tasks
    last_task = getattr(workflow, "last_task", None)
    protected = {workflow.task_tree.id} | set(top.subprocesses)
    if last_task is not None:
        protected.add(last_task.id)
    kept_inputs: dict = {}
    fired: dict = {}  # join spec -> when a task of it last completed
    for task in tasks.values():
        if task.state == TaskState.COMPLETED and _is_join(task):
            fired[task.task_spec] = max(fired.get(task.task_spec, 0), task.last_state_change)
    # SpiffWorkflow lets a parallel gateway that also closes a loop fire on its first
    # token by finding the other input among its ancestors: keep the first task of each
    # such input (one per element, however often the loop runs).
    ordered = sorted(tasks.values(), key=lambda t: -_depth(t))
    for task in reversed(ordered):
        spec = task.task_spec
        if spec in _join_inputs(workflow.spec) and task.state == TaskState.COMPLETED:
            if spec not in kept_inputs:
                kept_inputs[spec] = task.id
    protected |= set(kept_inputs.values())
    removed = 0
    # Leaves first (children before parents), so a dead branch goes in one pass.
    for task in ordered:
        if task.id in protected or task.id not in tasks:
            continue
        parent = task.parent
        if parent is None or not task.has_state(FINISHED):
            continue
        children = task._children
        if not children:
            if not parent.has_state(FINISHED):
                continue
            if _is_join(task) and task.state == TaskState.CANCELLED and not _fired_after(task, fired):
                continue  # a waiting join may still count this token
            parent._children.remove(task.id)
            del tasks[task.id]
            removed += 1
        elif len(children) == 1 and task.state == TaskState.COMPLETED:
            child = tasks[children[0]]
            if _is_join(child) or not child.has_state(_INHERITED):
                continue
            siblings = parent._children
            siblings[siblings.index(task.id)] = child.id
            child._parent = parent.id
            del tasks[task.id]
            removed += 1
    return removed


def _join_inputs(spec) -> frozenset:
    """Task specs that lead into a join with several inputs (cached on the immutable spec)."""
    found = getattr(spec, "_bpm_join_inputs", None)
    if found is None:
        found = frozenset(
            each
            for task_spec in spec.task_specs.values()
            if isinstance(task_spec, Join) and len(task_spec.inputs) > 1
            for each in task_spec.inputs
        )
        spec._bpm_join_inputs = found
    return found


def _depth(task) -> int:
    depth, current = 0, task
    while current._parent is not None:
        current = current.workflow.tasks.get(current._parent)
        if current is None:
            break
        depth += 1
    return depth
