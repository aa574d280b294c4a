"""Approval rules applied when the engine opens tasks: mark approvals, route to substitutes."""

from __future__ import annotations

from django.utils import timezone

from bpm import writes

from .conventions import approval_config
from .models import Substitute


def on_tasks_opened(tasks, elements: dict) -> None:
    """Called by tasks.sync after new task rows were created (same transaction)."""
    today = timezone.localdate()
    changed = []
    for task in tasks:
        config = approval_config(task.element_id, elements.get(task.element_id, {}))
        if config is None:
            continue
        task.is_approval = True
        task.approval_chain = config.chain
        if task.assignee_id:
            away = (
                Substitute.objects.filter(user_id=task.assignee_id, starts_on__lte=today, ends_on__gte=today)
                .select_related("substitute")
                .first()
            )
            if away is not None:
                task.substituted_for_id = task.assignee_id
                task.assignee = away.substitute
        changed.append(task)
    if changed:
        writes.flush()  # the new rows get their keys (bpm/writes.py)
        type(changed[0]).objects.bulk_update(changed, ["is_approval", "approval_chain", "substituted_for", "assignee"])


def approval_outcomes(task) -> list[str]:
    """The outcomes an approval task offers on its page (registered with tasks.views)."""
    config = approval_config(task.element_id, task.definition.element(task.element_id).raw)
    return list(config.outcomes) if config else []
