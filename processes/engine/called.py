"""Which version of a process a call activity runs (camunda:calledElementBinding), as Camunda
resolves it: when the call happens.

- ``latest`` (the default): the called key's active version at the time of the call;
- ``deployment``: the version deployed with the caller (its deploy-time bundle);
- ``version``: ``camunda:calledElementVersion``;
- ``versionTag``: the newest version whose process carries ``camunda:versionTag``.

The version a call started is recorded on the call activity's task, so a called process
that is still running when a newer version is deployed goes on in its own version when
the instance is loaded again. The processes app registers how versions are found (the
engine reads no database)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import CallActivity, SubWorkflowTask
from SpiffWorkflow.bpmn.util.subworkflow import BpmnSubWorkflow

# internal data of a call activity's task: the definition (version) id its call runs
CALLED_DEFINITION = "bpm_called_definition"
BINDINGS = ("latest", "deployment", "version", "versionTag")


@dataclass(frozen=True)
class CalledVersion:
    definition_id: int
    spec: Any
    subprocess_specs: dict


class CalledVersionMissing(Exception):
    """The binding names a version that does not exist (yet)."""


_resolvers: dict[str, Callable] = {}


def register(resolve: Callable[[str, dict], CalledVersion], by_id: Callable[[int], CalledVersion | None]) -> None:
    """``resolve(key, binding)``: the version a call with this binding runs now (raises
    CalledVersionMissing); ``by_id(definition_id)``: a version a running call started."""
    _resolvers["resolve"] = resolve
    _resolvers["by_id"] = by_id


def _binding(task_spec) -> dict:
    return getattr(task_spec, "bpm_call_binding", None) or {"binding": "latest"}


def _share_nested(top_workflow, called: CalledVersion, *, replace: bool) -> None:
    """The called version's embedded subprocesses and calls become known to the instance."""
    for name, spec in called.subprocess_specs.items():
        if replace or name not in top_workflow.subprocess_specs:
            top_workflow.subprocess_specs[name] = spec


def start_bound_workflow(self: CallActivity, my_task) -> None:
    """CallActivity.start_workflow with the version the binding names at this moment."""
    binding = _binding(self)
    if binding.get("binding") == "deployment" or "resolve" not in _resolvers:
        return SubWorkflowTask.start_workflow(self, my_task)
    try:
        called = _resolvers["resolve"](self.spec, binding)
    except CalledVersionMissing as exc:
        my_task.error()
        raise WorkflowTaskException(str(exc), task=my_task) from None
    if called is None:  # no version of its own (a non-executable process of the caller's files)
        return SubWorkflowTask.start_workflow(self, my_task)
    top = my_task.workflow.top_workflow
    _share_nested(top, called, replace=True)
    subworkflow = BpmnSubWorkflow(called.spec, parent_task_id=my_task.id, top_workflow=top)
    top.subprocesses[my_task.id] = subworkflow
    my_task._set_internal_data(**{CALLED_DEFINITION: called.definition_id})
    subworkflow.completed_event.connect(self._on_subworkflow_completed, my_task)
    self.copy_data(my_task, subworkflow)
    subworkflow.get_next_task(spec_name="Start").run()


def restored_spec(task, top_workflow):
    """The spec a stored subworkflow is rebuilt with: the version its call started, else
    (calls recorded before bindings, deployment bindings) the caller's bundled one."""
    definition_id = task.internal_data.get(CALLED_DEFINITION)
    if definition_id is not None and "by_id" in _resolvers:
        called = _resolvers["by_id"](definition_id)
        if called is not None:
            _share_nested(top_workflow, called, replace=False)
            return called.spec
    return top_workflow.subprocess_specs.get(task.task_spec.spec)


def called_definition_id(task) -> int | None:
    """The version of the called process a task runs in (None: the instance's own process,
    or a call recorded before bindings)."""
    workflow = task.workflow
    while getattr(workflow, "parent_task_id", None) is not None:
        parent_task = workflow.top_workflow.get_task_from_id(workflow.parent_task_id)
        if isinstance(parent_task.task_spec, CallActivity):
            return parent_task.internal_data.get(CALLED_DEFINITION)
        workflow = parent_task.workflow
    return None
