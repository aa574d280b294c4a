"""Saved inbox filters: save the inbox's current query under a name, share it with a group
one belongs to, open or delete it."""

from __future__ import annotations

from urllib.parse import urlencode

from django.db.models import Q, QuerySet

from bpm.exceptions import InvalidInput
from bpm.users import group_ids

from .exceptions import NotAllowedOnTask
from .models import TaskFilter

# The inbox's query parameters a filter keeps (paging is not part of a filter).
KEPT = ("view", "process", "priority", "due_before", "overdue", "q", "sort", "status", "follow_up", "variable", "group")


def task_filters_for(user) -> QuerySet[TaskFilter]:
    """The user's own filters and those shared with a group they are in."""
    return TaskFilter.objects.filter(Q(owner=user) | Q(shared_with_id__in=group_ids(user))).select_related(
        "owner", "shared_with"
    )


def task_filter_save(*, user, name: str, params, share_with: str = "") -> TaskFilter:
    """Keep the inbox's query under a name (the same name again replaces it)."""
    name = (name or "").strip()
    if not name or len(name) > 80:
        raise InvalidInput("Name the filter (up to 80 characters).", details={"name": ["1 to 80 characters."]})
    kept = {k: params.get(k) for k in KEPT if params.get(k)}
    group = None
    if share_with:
        group = user.groups.filter(name=share_with).first()
        if group is None:
            raise InvalidInput(
                f"You can share only with a group you are in, not '{share_with}'.",
                details={"share_with": ["One of your groups."]},
            )
    saved, _ = TaskFilter.objects.update_or_create(
        owner=user, name=name, defaults={"params": kept, "shared_with": group}
    )
    return saved


def task_filter_delete(*, user, filter_id: int) -> None:
    saved = TaskFilter.objects.filter(pk=filter_id).first()
    if saved is None or saved.owner_id != user.pk:
        raise NotAllowedOnTask("Only its owner deletes a filter.")
    saved.delete()


def query_string(saved: TaskFilter) -> str:
    return urlencode(saved.params)
