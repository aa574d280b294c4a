"""One action on many tasks from the inbox: each task is its own command (all of it or none
of it happens), and the answer says which were done and why the others were not."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError

from bpm.exceptions import ApplicationError, InvalidInput

from . import services
from .selectors import tasks_visible_to

ACTIONS = ("claim", "complete", "reassign")
MAX_TASKS = 100


@dataclass
class BulkResult:
    done: list[str] = field(default_factory=list)  # task names
    refused: list[tuple[str, str]] = field(default_factory=list)  # (task name, why)


def tasks_bulk(*, user, task_ids: list[int], action: str, to_username: str = "") -> BulkResult:
    """Claim, complete (tasks whose form needs nothing) or reassign each task in turn."""
    if action not in ACTIONS:
        raise InvalidInput(f"Unknown action '{action}'", details={"action": [f"One of {', '.join(ACTIONS)}."]})
    if not task_ids:
        raise InvalidInput("Choose at least one task.", details={"tasks": ["Tick the tasks to act on."]})
    if len(task_ids) > MAX_TASKS:
        raise InvalidInput(f"At most {MAX_TASKS} tasks at once.", details={"tasks": [f"At most {MAX_TASKS}."]})
    if action == "reassign" and not to_username:
        raise InvalidInput("Name the user to reassign to.", details={"user": ["A username."]})
    names = dict(tasks_visible_to(user).filter(pk__in=task_ids).values_list("pk", "name"))  # none of others' tasks
    result = BulkResult()
    for task_id in task_ids:
        name = names.get(task_id) or f"task {task_id}"
        try:
            if action == "claim":
                services.task_claim(task_id=task_id, user=user)
            elif action == "complete":
                services.task_complete(task_id=task_id, user=user, data={})
            else:
                services.task_reassign(task_id=task_id, user=user, to_username=to_username)
        except ValidationError as error:
            fields = getattr(error, "message_dict", {"": error.messages})
            why = "; ".join(f"{f}: {' '.join(m)}" if f else " ".join(m) for f, m in fields.items())
            result.refused.append((name, f"its form needs {why}"))
        except ApplicationError as error:
            result.refused.append((name, str(error)))
        else:
            result.done.append(name)
    return result
