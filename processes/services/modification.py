"""Modifying a running instance: cancel activity instances, start before or after activities,
with variables, as one atomic command with its reason in the history (Camunda 7's
process instance modification)."""

from __future__ import annotations

from django.db import transaction

from bpm.exceptions import InvalidInput

from .. import variables as variable_rules
from ..choices import HistoryKind, InstanceStatus
from ..engine import modification, runtime
from ..exceptions import InstanceNotActive, ModificationInvalid
from ..models import ProcessInstance
from .instances import end_cancelled
from .state import _apply_outcome, _history, _load_run, _lock_instance, _refuse_suspended

Instruction = modification.Instruction
MAX_INSTRUCTIONS = 100


def instance_modify(
    *, instance_id: int, instructions: list[Instruction], user=None, reason: str = ""
) -> ProcessInstance:
    """Apply the instructions in order, then run the engine until the instance waits; any
    failure (an unknown element, a step that fails) leaves the instance as it was.
    An instance left with no activity instance ends as cancelled, as in Camunda."""
    if not instructions:
        raise InvalidInput("Give at least one instruction", details={"instructions": ["required"]})
    if len(instructions) > MAX_INSTRUCTIONS:
        raise InvalidInput(f"At most {MAX_INSTRUCTIONS} instructions", details={"instructions": ["too many"]})
    for item in instructions:
        if item.kind not in modification.KINDS:
            raise InvalidInput(
                f"Unknown instruction type '{item.kind}'",
                details={"instructions": [f"type: one of {', '.join(modification.KINDS)}"]},
            )
        if not item.element_id and not (item.kind == "cancel" and item.activity_instance_id):
            raise InvalidInput(
                "Each instruction names an element (activity id)", details={"instructions": ["activity id required"]}
            )
        variable_rules.check(item.variables)
    with transaction.atomic():
        instance = _lock_instance(instance_id)
        _refuse_suspended(instance)
        if instance.status != InstanceStatus.RUNNING:
            raise InstanceNotActive(f"Instance {instance_id} is {instance.status}; only a running one can be modified")
        run = _load_run(instance)
        for item in instructions:
            item.variables = runtime.serializer.to_json_value(dict(item.variables))
        try:
            cancelled = modification.apply(run, instructions)
        except modification.ModificationError as exc:
            raise ModificationInvalid(
                f"Instruction {exc.index + 1 if exc.index is not None else ''}: {exc}",
                element_id=exc.element_id,
                instruction=exc.index,
            ) from None
        event = _history(
            instance,
            HistoryKind.INSTANCE_MODIFIED,
            actor=user,
            data={"reason": reason, "instructions": [_described(i) for i in instructions], "cancelled": cancelled},
        )
        if modification.nothing_runs(run.workflow):
            event.save()
            return end_cancelled(instance, run, user=user, reason=reason or "every activity instance was cancelled")
        run.advance()
        return _apply_outcome(instance, run, actor=user, events=[event])


def _described(item: Instruction) -> dict:
    described = {"type": item.kind, "element_id": item.element_id}
    if item.activity_instance_id:
        described["activity_instance_id"] = item.activity_instance_id
    if item.variables:
        described["variables"] = sorted(item.variables)
    return described
