"""Task actions: claim, unclaim, complete, delegate, resolve, reassign, comment.

Each action is one transaction and records a history event on the instance. Lock
order: the instance row first (when the action advances the instance), then the task.
A task the user may not see is "not found", never "forbidden", so ids do not leak.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from bpm import config, writes
from notifications.services import task_event
from processes import services as process_services
from processes.choices import HistoryKind

from . import sync
from .choices import DelegationState, TaskStatus
from .exceptions import NotAllowedOnTask, TaskAlreadyClaimed, TaskNotFound, TaskNotOpen, UnknownUser
from .forms import clean_task_data
from .models import HumanTask, TaskComment
from .selectors import is_task_admin, tasks_visible_to, user_is_candidate, user_may_claim, user_owns_process


def task_get(*, task_id: int, user) -> HumanTask:
    """A task the user may see, or TaskNotFound (also for tasks that exist but are not theirs)."""
    try:
        return tasks_visible_to(user).select_related("instance", "definition", "assignee", "owner").get(pk=task_id)
    except (HumanTask.DoesNotExist, ValueError):
        raise TaskNotFound(f"Task {task_id} not found") from None


def _locked(task_id: int, user) -> HumanTask:
    task_get(task_id=task_id, user=user)  # visibility first: 404 for others' tasks
    task = HumanTask.objects.select_for_update().get(pk=task_id)
    if task.status != TaskStatus.OPEN:
        raise TaskNotOpen(f"Task {task_id} is already {task.status}")
    return task


def _record(task: HumanTask, kind: str, user, data: dict | None = None) -> None:
    process_services.history_append(
        instance_id=task.instance_id,
        definition_id=task.definition_id,
        kind=kind,
        actor=user,
        element_id=task.element_id,
        name=task.name,
        data={"task": task.pk, **(data or {})},
    )


def _user(username: str):
    try:
        return get_user_model().objects.get(username=username, is_active=True)
    except get_user_model().DoesNotExist:
        raise UnknownUser(f"No active user '{username}'", details={"user": [f"No active user '{username}'."]}) from None


def task_claim(*, task_id: int, user) -> HumanTask:
    """Claim a task: the same user again is a no-op; a task claimed by someone else raises 409."""
    with transaction.atomic():
        task = _locked(task_id, user)
        if task.assignee_id == user.pk:
            return task
        if task.assignee_id is not None:
            raise TaskAlreadyClaimed(f"Task {task_id} is already claimed by {task.assignee}")
        if not user_may_claim(user, task):
            raise NotAllowedOnTask("You are not a candidate for this task.")
        task.assignee = user
        task.claimed_at = timezone.now()
        task.save(update_fields=["assignee", "claimed_at"])
        _record(task, HistoryKind.TASK_CLAIMED, user)
        task_event("workflow.task.claimed", task)
        return task


def task_unclaim(*, task_id: int, user) -> HumanTask:
    """Give a claimed task back to its candidates (the assignee, an owner or an administrator)."""
    with transaction.atomic():
        task = _locked(task_id, user)
        if task.assignee_id is None:
            return task
        if task.assignee_id != user.pk and not user_owns_process(user, task):
            raise NotAllowedOnTask("Only the assignee, a process owner or an administrator can unclaim this task.")
        previous = task.assignee.get_username()
        task.assignee = None
        task.claimed_at = None
        task.save(update_fields=["assignee", "claimed_at"])
        _record(task, HistoryKind.TASK_UNCLAIMED, user, {"from": previous})
        return task


def task_complete(*, task_id: int, user, data: dict[str, Any] | None = None) -> HumanTask:
    """Validate the form data, claim the task when the user is a candidate, and complete it.

    The instance advances in the same transaction; of two users completing one task at the
    same moment, the second gets TaskNotOpen (409).
    """
    return _complete_visible(task_get(task_id=task_id, user=user), user, data)


def _complete_visible(task: HumanTask, user, data: dict[str, Any] | None) -> HumanTask:
    if task.is_approval:
        raise NotAllowedOnTask("This task is an approval: decide it (approve, reject or request changes).")
    variables = clean_task_data(task.form, task.instance.variables, data or {})
    with transaction.atomic():
        # visibility was checked by the caller: lock the instance, then the task row, and go on
        instance = process_services.lock_instance(task.instance_id)
        locked_task = HumanTask.objects.select_for_update().get(pk=task.pk)
        return complete_locked(task_id=task.pk, user=user, variables=variables, locked=(instance, locked_task))


def task_complete_step(*, instance_id: int, spiff_task_id: str, user, data: dict[str, Any] | None = None):
    """Complete the human task behind an instance's waiting step under the task rules (the
    instance API's step route; registered with processes.services in TasksConfig.ready) and
    return the instance as the command left it, or None when no task was ever opened at that
    step (a step of another kind: processes.services decides what to answer).

    The instance id is known, so its row is locked first (the usual order) and the task is
    found, checked for visibility and locked in one read: 404 for a task not theirs, 409 for
    one already completed."""
    with transaction.atomic():
        instance = process_services.lock_instance(instance_id)
        task = (
            tasks_visible_to(user)
            .select_for_update(of=("self",))
            .select_related("assignee", "owner")
            .filter(instance_id=instance_id, spiff_task_id=spiff_task_id, status=TaskStatus.OPEN)
            .first()
        )
        if task is None:
            status = (
                HumanTask.objects.filter(instance_id=instance_id, spiff_task_id=spiff_task_id)
                .values_list("status", flat=True)
                .first()
            )
            if status == TaskStatus.OPEN:
                raise TaskNotFound(f"No open task you may see waits at step {spiff_task_id} of instance {instance_id}")
            if status is not None:
                raise TaskNotOpen(f"The task at step {spiff_task_id} is already {status}")
            return None
        if task.is_approval:
            raise NotAllowedOnTask("This task is an approval: decide it (approve, reject or request changes).")
        variables = clean_task_data(task.form, instance.variables, data or {})
        return complete_locked(
            task_id=task.pk, user=user, variables=variables, locked=(instance, task), refresh=False
        ).instance


def complete_locked(
    *,
    task_id: int,
    user,
    variables: dict,
    delegate_may_complete: bool = False,
    before_completing=None,
    locked: tuple | None = None,
    refresh: bool = True,
) -> HumanTask:
    """Inside a transaction: lock the instance, then the task; claim it for a candidate;
    complete its step with ``variables``. Approvals call this after their own checks, and
    record their decision in ``before_completing(task)``, so the history shows the decision
    before what it caused (the next level, the instance's completion).

    ``locked``: (instance, task) as the caller already locked them, in that order, after
    checking the task is visible to the user: nothing is read or locked again.

    The task comes back with ``task.instance`` as the command left it; ``refresh=False``
    skips re-reading the task's own row (for callers that answer with the instance)."""
    if locked is not None:
        instance, task = locked
        if task.status != TaskStatus.OPEN:
            raise TaskNotOpen(f"Task {task_id} is already {task.status}")
    else:
        instance_id = HumanTask.objects.filter(pk=task_id).values_list("instance_id", flat=True).first()
        if instance_id is None:
            raise TaskNotFound(f"Task {task_id} not found")
        instance = process_services.lock_instance(instance_id)
        task = _locked(task_id, user)  # visibility (404 for others' tasks), then the row lock
    # the claim's event reads cached configuration; the claim's writes go out with the step's
    with config.versioned(getattr(instance, "config_token", None)), writes.deferred():
        task = _complete_claimed(task, task_id, user, variables, instance, delegate_may_complete, before_completing)
    if refresh:
        task.refresh_from_db()
    return task


def _complete_claimed(task, task_id, user, variables, instance, delegate_may_complete, before_completing) -> HumanTask:
    delegated_to_me = task.delegation_state == DelegationState.PENDING and task.assignee_id == user.pk
    if delegated_to_me and not delegate_may_complete:
        raise NotAllowedOnTask(f"This task was delegated to you by {task.owner}: resolve it to hand it back.")
    if task.assignee_id is not None:
        if task.assignee_id != user.pk:
            raise TaskAlreadyClaimed(f"Task {task_id} is claimed by {task.assignee}")
        if before_completing is not None:
            before_completing(task)
        return _complete_step(task, variables, user, instance)
    if not user_may_claim(user, task):
        raise NotAllowedOnTask("You are not a candidate for this task.")
    task.assignee = user
    task.claimed_at = timezone.now()
    if before_completing is None:  # nothing reads the row before the completion: the claim goes with it
        with sync.claimed_with_completion(task):
            _record_claim(task, user)
            return _complete_step(task, variables, user, instance)
    writes.save_fields(task, ["assignee", "claimed_at"])
    _record_claim(task, user)
    before_completing(task)
    return _complete_step(task, variables, user, instance)


def _record_claim(task: HumanTask, user) -> None:
    _record(task, HistoryKind.TASK_CLAIMED, user)
    task_event("workflow.task.claimed", task)


def _complete_step(task: HumanTask, variables: dict, user, instance) -> HumanTask:
    task.instance = process_services.instance_complete_step(
        instance_id=task.instance_id, spiff_task_id=str(task.spiff_task_id), data=variables, user=user, locked=instance
    )
    return task


def task_delegate(*, task_id: int, user, to_username: str) -> HumanTask:
    """Hand a task to a colleague; it comes back to the delegator when the colleague resolves it."""
    delegate = _user(to_username)
    with transaction.atomic():
        task = _locked(task_id, user)
        if task.assignee_id != user.pk and not user_owns_process(user, task):
            raise NotAllowedOnTask("Only the assignee, a process owner or an administrator can delegate this task.")
        if delegate.pk == user.pk:
            raise UnknownUser(
                "Delegate to someone else.", details={"user": ["You cannot delegate a task to yourself."]}
            )
        task.owner = task.assignee or user
        task.assignee = delegate
        task.delegation_state = DelegationState.PENDING
        task.claimed_at = timezone.now()
        task.save(update_fields=["owner", "assignee", "delegation_state", "claimed_at"])
        _record(task, HistoryKind.TASK_DELEGATED, user, {"to": delegate.get_username()})
        task_event("workflow.task.delegated", task, extra={"delegated_by": user.get_username()})
        task_event("workflow.task.assigned", task, user=delegate, extra={"delegated_by": user.get_username()})
        return task


def task_resolve(*, task_id: int, user, data: dict[str, Any] | None = None) -> HumanTask:
    """The delegate hands the task back to its owner, with the form data they filled in."""
    task = task_get(task_id=task_id, user=user)
    variables = clean_task_data(task.form, task.instance.variables, data or {}) if task.form else dict(data or {})
    with transaction.atomic():
        task = _locked(task_id, user)
        if task.delegation_state != DelegationState.PENDING or task.assignee_id != user.pk:
            raise NotAllowedOnTask("Only the person a task was delegated to can resolve it.")
        task.assignee = task.owner
        task.delegation_state = DelegationState.RESOLVED
        task.draft_data = variables
        task.save(update_fields=["assignee", "delegation_state", "draft_data"])
        _record(task, HistoryKind.TASK_RESOLVED, user, {"back_to": task.owner.get_username() if task.owner else ""})
        return task


def task_reassign(*, task_id: int, user, to_username: str) -> HumanTask:
    """Give a task to another user (process owners and administrators)."""
    target = _user(to_username)
    with transaction.atomic():
        task = _locked(task_id, user)
        if not user_owns_process(user, task):
            raise NotAllowedOnTask("Only a process owner or an administrator can reassign a task.")
        previous = task.assignee.get_username() if task.assignee else ""
        task.assignee = target
        task.claimed_at = timezone.now()
        task.save(update_fields=["assignee", "claimed_at"])
        _record(task, HistoryKind.TASK_REASSIGNED, user, {"from": previous, "to": target.get_username()})
        task_event("workflow.task.assigned", task, user=target, extra={"reassigned_by": user.get_username()})
        return task


def task_comment(*, task_id: int, user, text: str) -> TaskComment:
    """Add a comment to a task anyone who sees it may read."""
    text = (text or "").strip()
    if not text:
        from django.core.exceptions import ValidationError

        raise ValidationError({"text": ["Write a comment."]})
    task = task_get(task_id=task_id, user=user)
    with transaction.atomic():
        comment = TaskComment.objects.create(task=task, author=user, text=text)
        _record(task, HistoryKind.TASK_COMMENTED, user, {"comment": text[:500]})
        return comment


def can_act(user, task: HumanTask) -> dict[str, bool]:
    """Which actions the page offers this user on this task."""
    open_ = task.status == TaskStatus.OPEN
    owner_or_admin = user_owns_process(user, task)
    candidate = user_is_candidate(user, task)
    mine = task.assignee_id == user.pk
    delegated_to_me = mine and task.delegation_state == DelegationState.PENDING
    return {
        "claim": open_ and task.assignee_id is None and (candidate or owner_or_admin),
        "unclaim": open_ and task.assignee_id is not None and (mine or owner_or_admin) and not delegated_to_me,
        "complete": open_
        and not task.is_approval
        and not delegated_to_me
        and (mine or (task.assignee_id is None and (candidate or owner_or_admin))),
        # approvals are decided, also by the colleague they were delegated to
        "decide": open_ and task.is_approval and (mine or (task.assignee_id is None and (candidate or owner_or_admin))),
        "resolve": open_ and delegated_to_me and not task.is_approval,
        "delegate": open_ and (mine or owner_or_admin) and not delegated_to_me,
        "reassign": open_ and owner_or_admin,
        "update": open_ and (mine or owner_or_admin),  # due, follow-up, priority
        "candidates": open_ and owner_or_admin,
        "admin": is_task_admin(user),
    }


_UNSET: Any = object()


def _may_change_task(task: HumanTask, user) -> None:
    if task.assignee_id != user.pk and not user_owns_process(user, task):
        raise NotAllowedOnTask("Only the assignee, a process owner or an administrator can change this task.")


def task_update(
    *, task_id: int, user, name: str | None = None, due_at=_UNSET, follow_up_at=_UNSET, priority: int | None = None
) -> HumanTask:
    """Change a task's name, due date, follow-up date or priority (assignee, owners, administrators)."""
    with transaction.atomic():
        task = _locked(task_id, user)
        _may_change_task(task, user)
        changed = {}
        if name is not None and name != task.name:
            changed["name"], task.name = name[:255], name[:255]
        if due_at is not _UNSET and due_at != task.due_at:
            task.due_at = due_at
            changed["due_at"] = due_at.isoformat() if due_at else None
        if follow_up_at is not _UNSET and follow_up_at != task.follow_up_at:
            task.follow_up_at = follow_up_at
            changed["follow_up_at"] = follow_up_at.isoformat() if follow_up_at else None
        if priority is not None and priority != task.priority:
            changed["priority"], task.priority = priority, priority
        if changed:
            task.save(update_fields=[f for f in ("name", "due_at", "follow_up_at", "priority") if f in changed])
            _record(task, HistoryKind.TASK_UPDATED, user, changed)
        return task


def task_change_candidate(
    *, task_id: int, user, username: str = "", group_name: str = "", add: bool = True
) -> HumanTask:
    """Add or remove a candidate user or group (process owners and administrators)."""
    from django.contrib.auth.models import Group

    from .models import TaskCandidate

    if bool(username) == bool(group_name):
        raise UnknownUser("Name a user or a group.", details={"user": ["Name either a user or a group."]})
    with transaction.atomic():
        task = _locked(task_id, user)
        if not user_owns_process(user, task):
            raise NotAllowedOnTask("Only a process owner or an administrator can change the candidates.")
        if username:
            target = _user(username)
            existing = task.candidates.filter(user=target)
            if add and not existing.exists():
                TaskCandidate.objects.create(task=task, user=target)
        else:
            existing = task.candidates.filter(group_name=group_name)
            if add and not existing.exists():
                TaskCandidate.objects.create(
                    task=task, group=Group.objects.filter(name=group_name).first(), group_name=group_name
                )
        if not add:
            existing.delete()
        _record(
            task,
            HistoryKind.TASK_UPDATED,
            user,
            {("candidate_added" if add else "candidate_removed"): username or f"group:{group_name}"},
        )
        return task


def task_throw(
    *, task_id: int, user, code: str, message: str = "", variables: dict | None = None, escalation: bool = False
) -> None:
    """The person working a task reports a BPMN error (or escalation) instead of completing it:
    the variables are set and the error is thrown at the task. When nothing catches it,
    nothing changes and the caller is told."""
    from processes.exceptions import StepNotCompletable

    task = task_get(task_id=task_id, user=user)
    allowed = can_act(user, task)
    if not (allowed["complete"] or allowed["decide"]):
        raise NotAllowedOnTask("Only someone who may complete this task can report an error on it.")
    with transaction.atomic():
        if variables:
            process_services.instance_set_variables(instance_id=task.instance_id, variables=variables, user=user)
        throw = process_services.instance_throw_escalation if escalation else process_services.instance_throw_error
        kwargs = {} if escalation else {"message": message}
        if not throw(instance_id=task.instance_id, spiff_task_id=str(task.spiff_task_id), code=code, **kwargs):
            what = "escalation" if escalation else "BPMN error"
            raise StepNotCompletable(
                f"No boundary event or event subprocess catches the {what} '{code}' thrown at '{task.element_id}'; "
                "nothing was changed",
                details={"element_id": task.element_id, "code": code},
            )
