"""Engine steps with transaction boundaries, and compensation: the part of a run that decides
which ready task runs now (SpiffWorkflow's do_engine_steps, with async holds) and what a
compensation throw starts. Mixed into runtime.Run."""

from __future__ import annotations

from uuid import UUID

from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState

from . import scripting
from .run_types import ASYNC_HOLD, ASYNC_PASSED, COMPENSATING, COMPENSATION_KEY, EngineActionError


def held(task) -> bool:
    """A ready task waits at an asynchronous continuation (camunda:asyncBefore on it, or
    asyncAfter on the task before it) until its job releases it."""
    if task.internal_data.get(ASYNC_HOLD):
        return True
    return bool(getattr(task.task_spec, "bpm_async_before", False)) and not task.internal_data.get(ASYNC_PASSED)


class StepActions:
    """Running ready tasks, asynchronous continuations and compensation (part of runtime.Run)."""

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

    def merge_orphaned_children(self) -> int:
        """Hand completed multi-instance children their parent never heard of back to it (an
        instance stalled by the SpiffWorkflow defect that ``spec_marks._settle_loop_specs`` fixes);
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
