"""Read approvals: an instance's decisions, my decisions, my pending approvals."""

from __future__ import annotations

from django.db.models import QuerySet

from processes.selectors import instances_visible_to
from tasks.choices import TaskStatus
from tasks.models import HumanTask
from tasks.selectors import tasks_visible_to

from .models import Approval


def instance_approvals(instance) -> QuerySet[Approval]:
    return instance.approvals.select_related("decided_by", "on_behalf_of").order_by("decided_at", "id")


def approvals_of_instance(user, instance_id: int) -> QuerySet[Approval]:
    """Decisions of an instance the user may see (through the instance or one of its tasks)."""
    visible_instance = instances_visible_to(user).filter(pk=instance_id).exists()
    if not visible_instance and not tasks_visible_to(user).filter(instance_id=instance_id).exists():
        return Approval.objects.none()
    return Approval.objects.filter(instance_id=instance_id).select_related("decided_by", "on_behalf_of")


def decided_by(user) -> QuerySet[Approval]:
    return (
        Approval.objects.filter(decided_by=user)
        .select_related("instance__definition", "on_behalf_of")
        .order_by("-decided_at", "-id")
    )


def pending_approvals(user) -> QuerySet[HumanTask]:
    """Open approval tasks assigned to the user or claimable by them."""
    from tasks.selectors import _candidate_task_ids

    mine = HumanTask.objects.filter(status=TaskStatus.OPEN, is_approval=True, assignee=user)
    claimable = HumanTask.objects.filter(
        status=TaskStatus.OPEN, is_approval=True, assignee__isnull=True, pk__in=_candidate_task_ids(user)
    )
    return (mine | claimable).exclude(initiator=user).order_by("due_at", "-priority", "id")
