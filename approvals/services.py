"""Decide approvals: approve, reject or request changes, under the four-eyes rule."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from processes import services as process_services
from tasks import services as task_services
from tasks.choices import DelegationState
from tasks.forms import clean_task_data
from tasks.models import HumanTask

from .choices import OUTCOME_VERBS
from .conventions import COMMENT_REQUIRED, ApprovalConfig, approval_config
from .exceptions import FourEyesViolation, NotAnApproval
from .models import Approval, Outcome, Substitute


def config_for(task: HumanTask) -> ApprovalConfig:
    config = approval_config(task.element_id, task.definition.element(task.element_id).raw)
    if config is None:
        raise NotAnApproval(f"Task '{task.name}' is not an approval task.")
    return config


def _level_name(config: ApprovalConfig, task: HumanTask) -> str:
    """``approval.level`` may be an expression (``${approver_group}``) over the instance's variables."""
    from processes.engine import expressions, scripting

    try:
        value = expressions.evaluate_attribute(config.level_name, task.instance.variables, scripting.evaluate)
    except Exception:  # a level label must never block a decision
        value = config.level_name
    return str(value or task.name)[:255]


def four_eyes_refusal(user, task: HumanTask, chain: str) -> str | None:
    """Why the four-eyes rule refuses ``user`` this decision, or None when it allows it."""
    if task.instance.started_by_id == user.pk:
        return "You started this request, so someone else must decide it (four-eyes rule)."
    earlier = Approval.objects.filter(instance_id=task.instance_id, chain=chain, decided_by=user).first()
    if earlier is not None:
        return (
            f"You already decided level {earlier.level} ({earlier.level_name}) of this approval, "
            "so another person must decide this level (four-eyes rule)."
        )
    return None


def approval_decide(
    *, task_id: int, user, outcome: str, comment: str = "", data: dict[str, Any] | None = None
) -> Approval:
    """Record a decision on an approval task and complete it, writing the outcome into the
    process variables (``<task id>_decision`` or the configured variable) so gateways route on it."""
    task = task_services.task_get(task_id=task_id, user=user)
    config = config_for(task)
    if outcome not in config.outcomes:
        allowed = ", ".join(Outcome(o).label.lower() for o in config.outcomes)
        raise ValidationError({"outcome": [f"Choose one of: {allowed}."]})
    comment = (comment or "").strip()
    if outcome in COMMENT_REQUIRED and not comment:
        raise ValidationError({"comment": [f"A comment is required to {OUTCOME_VERBS[outcome]}."]})
    variables = clean_task_data(task.form, task.instance.variables, data or {}) if task.form else {}
    variables.update(
        {config.variable: outcome, f"{config.variable}_comment": comment, f"{config.variable}_by": user.get_username()}
    )
    with transaction.atomic():
        instance = process_services.lock_instance(task.instance_id)
        refusal = four_eyes_refusal(user, task, config.chain)
        if refusal:
            raise FourEyesViolation(refusal)
        task = HumanTask.objects.select_for_update().get(pk=task.pk)
        on_behalf_of = None
        if task.delegation_state == DelegationState.PENDING and task.assignee_id == user.pk:
            on_behalf_of = task.owner
        elif task.substituted_for_id and task.assignee_id == user.pk:
            on_behalf_of = task.substituted_for
        level = Approval.objects.filter(instance_id=task.instance_id, chain=config.chain).count() + 1
        level_name = _level_name(config, task)
        recorded: dict[str, Approval] = {}

        def record_decision(locked_task) -> None:
            recorded["approval"] = Approval.objects.create(
                instance_id=locked_task.instance_id,
                instance_ref=locked_task.instance_id,
                process_key=locked_task.process_key,
                business_key=locked_task.business_key,
                task=locked_task,
                element_id=locked_task.element_id,
                chain=config.chain,
                level=level,
                level_name=level_name,
                outcome=outcome,
                comment=comment,
                decided_by=user,
                on_behalf_of=on_behalf_of,
            )
            process_services.history_append(
                instance_id=locked_task.instance_id,
                definition_id=locked_task.definition_id,
                kind="approval_decided",
                actor=user,
                element_id=locked_task.element_id,
                name=locked_task.name,
                data={
                    "outcome": outcome,
                    "comment": comment,
                    "level": level,
                    "level_name": level_name,
                    "on_behalf_of": on_behalf_of.get_username() if on_behalf_of else "",
                },
            )

        task_services.complete_locked(
            task_id=task.pk,
            user=user,
            variables=variables,
            delegate_may_complete=True,
            before_completing=record_decision,
            locked=(instance, task),
        )
        approval = recorded["approval"]
        from notifications.services import instance_event

        # ``instance`` is the locked row, updated in place by the completion: no re-read
        instance_event(
            "workflow.approval.decided",
            instance,
            notify_initiator=True,
            title=f"{approval.get_outcome_display()}: {level_name} ({instance.business_key or instance.definition.name})",
            extra={"outcome": outcome, "comment": comment, "level": level, "decided_by": user.get_username()},
        )
        return approval


def substitute_set(*, user, substitute_username: str, starts_on, ends_on) -> Substitute:
    """Name an out-of-office substitute for a date range (approvals assigned to ``user`` go to them)."""
    from django.contrib.auth import get_user_model

    errors = {}
    substitute = get_user_model().objects.filter(username=substitute_username, is_active=True).first()
    if substitute is None:
        errors["substitute"] = [f"No active user '{substitute_username}'."]
    elif substitute.pk == user.pk:
        errors["substitute"] = ["Choose someone other than yourself."]
    if starts_on and ends_on and ends_on < starts_on:
        errors["ends_on"] = ["The last day comes before the first."]
    if errors:
        raise ValidationError(errors)
    return Substitute.objects.create(user=user, substitute=substitute, starts_on=starts_on, ends_on=ends_on)
