"""Read tasks: who may see which, decided in the query (no permission row per task)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.apps import apps
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from bpm.users import group_ids
from processes.search import variable_condition
from processes.selectors import _keys_with_object_perm

from .choices import TaskStatus
from .models import HumanTask, TaskCandidate

DUE_SOON = timedelta(days=1)


def is_task_admin(user) -> bool:
    return bool(user.is_superuser or user.has_perm("tasks.view_all_tasks"))


def candidate_condition(user) -> Q:
    """Tasks the user may claim: a candidate user, or a member of a candidate group.

    Written as ``id IN (candidate rows of this user or these groups)`` so PostgreSQL reads
    the few candidate rows through their indexes first, instead of probing every open task.
    """
    mine = TaskCandidate.objects.filter(Q(user=user) | Q(group_id__in=group_ids(user))).values("task_id")
    return Q(pk__in=mine)


def _candidate_task_ids(user) -> list[int]:
    """Ids of tasks the user is a candidate for, read once per request through the candidate
    indexes; the inbox then fetches its page by primary key (see docs/PERFORMANCE.md)."""
    cached = getattr(user, "_bpm_candidate_task_ids", None)
    if cached is None:
        cached = list(
            TaskCandidate.objects.filter(Q(user=user) | Q(group_id__in=group_ids(user))).values_list(
                "task_id", flat=True
            )
        )
        user._bpm_candidate_task_ids = cached
    return cached


def group_tasks(user) -> QuerySet[HumanTask]:
    """Unclaimed open tasks the user may claim. Four-eyes: approvals of a request the user
    started, or of an approval chain they already decided, are not offered to them."""
    Approval = apps.get_model("approvals", "Approval")
    decided_chain = Approval.objects.filter(
        instance_id=OuterRef("instance_id"), chain=OuterRef("approval_chain"), decided_by=user
    )
    return (
        HumanTask.objects.filter(status=TaskStatus.OPEN, assignee__isnull=True, pk__in=_candidate_task_ids(user))
        .exclude(is_approval=True, initiator=user)
        .exclude(Q(is_approval=True) & Q(Exists(decided_chain)))
    )


def tasks_visible_to(user) -> QuerySet[HumanTask]:
    """Tasks the user may see and act on: assignee, delegator, candidate, process owner, or admin."""
    qs = HumanTask.objects.all()
    if not getattr(user, "is_authenticated", False):
        return qs.none()
    if is_task_admin(user):
        return qs
    condition = Q(assignee=user) | Q(owner=user) | Q(substituted_for=user) | candidate_condition(user)
    owned = list(_keys_with_object_perm(user, ["processes.own_process"]).values_list("key", flat=True))
    if owned:
        condition |= Q(process_key__in=owned)
    return qs.filter(condition)


def user_owns_process(user, task: HumanTask) -> bool:
    if is_task_admin(user):
        return True
    return _keys_with_object_perm(user, ["processes.own_process"]).filter(key=task.process_key).exists()


def user_is_candidate(user, task: HumanTask) -> bool:
    return TaskCandidate.objects.filter(task=task).filter(Q(user=user) | Q(group_id__in=group_ids(user))).exists()


def user_may_claim(user, task: HumanTask) -> bool:
    """A candidate, an owner of the process or an administrator (asked in that order of cost:
    an administrator's right is in hand, the others are a read each)."""
    return is_task_admin(user) or user_is_candidate(user, task) or user_owns_process(user, task)


@dataclass
class InboxQuery:
    """What the inbox was asked for; every field optional."""

    view: str = "mine"  # mine, group, all
    process: str = ""
    priority_min: int | None = None
    due_before: str = ""
    overdue: bool = False
    search: str = ""
    sort: str = "due"  # due, priority, created, completed
    status: str = "open"  # open, completed, cancelled (ended tasks: those the user completed)
    # Camunda's follow-up date: "due" leaves out open tasks whose follow-up date is still ahead
    # (the inbox's default), "all" shows them too (the API's default, as Camunda's REST API)
    follow_up: str = "due"
    variable: str = ""  # name:value of the instance's variables
    group: str = ""  # a candidate group's name

    @classmethod
    def from_params(cls, params, *, follow_up: str = "due") -> InboxQuery:
        """The inbox's filters from a query string: the same for the page and the API
        (``follow_up`` is the default when the string does not say)."""
        try:
            priority = int(params["priority"]) if params.get("priority") else None
        except ValueError:
            priority = None
        return cls(
            view=params.get("view", "mine"),
            process=params.get("process", ""),
            priority_min=priority,
            due_before=params.get("due_before", ""),
            overdue=params.get("overdue", "").lower() in ("1", "true", "yes", "on"),
            search=params.get("q", "").strip(),
            sort=params.get("sort", "due"),
            status=params.get("status", "open") or "open",
            follow_up=params.get("follow_up") if params.get("follow_up") in FOLLOW_UPS else follow_up,
            variable=params.get("variable", "").strip(),
            group=params.get("group", "").strip(),
        )


SORTS = {
    "due": ["due_at", "-priority", "id"],
    "priority": ["-priority", "due_at", "id"],
    "created": ["-created_at", "-id"],
    "completed": ["-completed_at", "-id"],
}
TASK_STATUSES = ("open", "completed", "cancelled")
FOLLOW_UPS = ("due", "all")


def _follow_up_due(qs: QuerySet[HumanTask], now=None) -> QuerySet[HumanTask]:
    """Open tasks without a follow-up date, or whose follow-up date has come."""
    return qs.filter(Q(follow_up_at__isnull=True) | Q(follow_up_at__lte=now or timezone.now()))


def inbox_list(user, query: InboxQuery) -> QuerySet[HumanTask]:
    """Tasks for one inbox view, filtered and sorted, ready to paginate: open ones by default;
    with ``status`` completed or cancelled, the ended tasks the user completed or was assigned
    (an administrator's "all": every ended task)."""
    if query.status != TaskStatus.OPEN:
        qs = HumanTask.objects.filter(status=query.status)
        if not (query.view == "all" and is_task_admin(user)):
            qs = qs.filter(Q(completed_by=user) | Q(assignee=user))
        return _filtered(qs.select_related("assignee"), query, default_sort="completed")
    if query.view == "all" and is_task_admin(user):
        qs = HumanTask.objects.filter(status=TaskStatus.OPEN)
    elif query.view == "group":
        qs = group_tasks(user)
    else:
        qs = HumanTask.objects.filter(status=TaskStatus.OPEN, assignee=user)
    if query.view == "all":
        qs = qs.select_related("assignee")
    if query.follow_up == "due":
        qs = _follow_up_due(qs)
    return _filtered(qs, query)


def _filtered(qs: QuerySet[HumanTask], query: InboxQuery, default_sort: str = "due") -> QuerySet[HumanTask]:
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
    if query.variable:
        qs = qs.filter(variable_condition(query.variable, prefix="instance__"))
    if query.group:
        qs = qs.filter(pk__in=TaskCandidate.objects.filter(group_name=query.group).values("task_id"))
    sort = query.sort if query.sort in SORTS else default_sort
    if default_sort == "completed" and sort == "due":  # the inbox's default: ended tasks read newest first
        sort = "completed"
    return qs.order_by(*SORTS[sort])


def inbox_counts(user) -> dict[str, int]:
    """Counts for the navigation: my open tasks and unclaimed tasks I may claim, as the inbox
    shows them (without tasks whose follow-up date is still ahead)."""
    return {
        "mine": _follow_up_due(HumanTask.objects.filter(status=TaskStatus.OPEN, assignee=user)).count(),
        "group": _follow_up_due(group_tasks(user)).count(),
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


def metrics_figures(now) -> dict:
    """Open and overdue human tasks for /metrics (registered with integrations.health)."""
    from django.db.models import Count

    tasks = HumanTask.objects.filter(status=TaskStatus.OPEN).aggregate(
        open=Count("id"), overdue=Count("id", filter=Q(due_at__lt=now))
    )
    return {"tasks_open": tasks["open"], "tasks_overdue": tasks["overdue"]}
