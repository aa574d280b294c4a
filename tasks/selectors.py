"""Read tasks: who may see which, decided in the query (no permission row per task)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from processes.selectors import _keys_with_object_perm

from .choices import TaskStatus
from .models import HumanTask, TaskCandidate

DUE_SOON = timedelta(days=1)


def is_task_admin(user) -> bool:
    return bool(user.is_superuser or user.has_perm("tasks.view_all_tasks"))


def _group_ids(user) -> list[int]:
    cached = getattr(user, "_bpm_group_ids", None)
    if cached is None:
        cached = list(user.groups.values_list("id", flat=True))
        user._bpm_group_ids = cached
    return cached


def candidate_condition(user) -> Q:
    """Tasks the user may claim: a candidate user, or a member of a candidate group."""
    by_user = TaskCandidate.objects.filter(task=OuterRef("pk"), user=user)
    by_group = TaskCandidate.objects.filter(task=OuterRef("pk"), group_id__in=_group_ids(user))
    return Q(Exists(by_user)) | Q(Exists(by_group))


def tasks_visible_to(user) -> QuerySet[HumanTask]:
    """Tasks the user may see and act on: assignee, delegator, candidate, process owner, or admin."""
    qs = HumanTask.objects.all()
    if not getattr(user, "is_authenticated", False):
        return qs.none()
    if is_task_admin(user):
        return qs
    condition = Q(assignee=user) | Q(owner=user) | candidate_condition(user)
    owned = list(_keys_with_object_perm(user, ["processes.own_process"]).values_list("key", flat=True))
    if owned:
        condition |= Q(process_key__in=owned)
    return qs.filter(condition)


def user_owns_process(user, task: HumanTask) -> bool:
    if is_task_admin(user):
        return True
    return _keys_with_object_perm(user, ["processes.own_process"]).filter(key=task.process_key).exists()


def user_is_candidate(user, task: HumanTask) -> bool:
    return TaskCandidate.objects.filter(task=task).filter(Q(user=user) | Q(group_id__in=_group_ids(user))).exists()


@dataclass
class InboxQuery:
    """What the inbox was asked for; every field optional."""

    view: str = "mine"  # mine, group, all
    process: str = ""
    priority_min: int | None = None
    due_before: str = ""
    overdue: bool = False
    search: str = ""
    sort: str = "due"  # due, priority, created


SORTS = {
    "due": ["due_at", "-priority", "id"],
    "priority": ["-priority", "due_at", "id"],
    "created": ["-created_at", "-id"],
}


def inbox_list(user, query: InboxQuery) -> QuerySet[HumanTask]:
    """Open tasks for one inbox view, filtered and sorted, ready to paginate."""
    if query.view == "all" and is_task_admin(user):
        qs = HumanTask.objects.filter(status=TaskStatus.OPEN)
    elif query.view == "group":
        qs = HumanTask.objects.filter(status=TaskStatus.OPEN, assignee__isnull=True).filter(candidate_condition(user))
    else:
        qs = HumanTask.objects.filter(status=TaskStatus.OPEN, assignee=user)
    if query.process:
        qs = qs.filter(process_key=query.process)
    if query.priority_min is not None:
        qs = qs.filter(priority__gte=query.priority_min)
    if query.due_before:
        qs = qs.filter(due_at__date__lte=query.due_before)
    if query.overdue:
        qs = qs.filter(due_at__lt=timezone.now())
    if query.search:
        qs = qs.filter(Q(name__icontains=query.search) | Q(business_key__icontains=query.search))
    return qs.select_related("assignee").order_by(*SORTS.get(query.sort, SORTS["due"]))


def inbox_counts(user) -> dict[str, int]:
    """Counts for the navigation: my open tasks and unclaimed tasks I may claim."""
    return {
        "mine": HumanTask.objects.filter(status=TaskStatus.OPEN, assignee=user).count(),
        "group": HumanTask.objects.filter(status=TaskStatus.OPEN, assignee__isnull=True)
        .filter(candidate_condition(user))
        .count(),
    }


def task_badge(task: HumanTask, now=None) -> str:
    """'overdue', 'due-soon' or '' for a task's due date."""
    if task.due_at is None or task.status != TaskStatus.OPEN:
        return ""
    now = now or timezone.now()
    if task.due_at < now:
        return "overdue"
    if task.due_at < now + DUE_SOON:
        return "due-soon"
    return ""
