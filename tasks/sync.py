"""Open and close HumanTask rows from the engine's waiting points (step 3 of the one rule).

Called only by processes.services inside the instance's transaction, with its row locked.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from bpm import config, writes
from processes import calendars as process_calendars
from processes.choices import WaitKind

from . import assignment
from .choices import TaskStatus
from .models import HumanTask, TaskCandidate

HUMAN_KINDS = (WaitKind.USER, WaitKind.MANUAL)

# Other apps (approvals) adjust newly opened tasks; each hook gets (tasks, element metadata).
_OPEN_HOOKS: list = []


# Claims made by the command that completes the task: (instance id, spiff task id) -> task.
_CLAIMS: ContextVar[dict | None] = ContextVar("claims_completed_in_this_command", default=None)


@contextmanager
def claimed_with_completion(task: HumanTask) -> Iterator[None]:
    """A task claimed by the command that completes it: its assignee and claim time go out with
    the completion's UPDATE of the row (one statement carries a row's change once), not in a
    statement of their own. Nothing in between may read the row; a claim the command did not
    complete after all is written when the block ends."""
    claims = {(task.instance_id, str(task.spiff_task_id)): task}
    token = _CLAIMS.set(claims)
    try:
        yield
    finally:
        _CLAIMS.reset(token)
    if claims:  # reached without an exception: the completion did not take the claim along
        writes.save_fields(task, ["assignee", "claimed_at"])


def register_open_hook(hook) -> None:
    if hook not in _OPEN_HOOKS:
        _OPEN_HOOKS.append(hook)


def _known_candidates(task: HumanTask, rows: list[TaskCandidate]) -> None:
    """A new task's candidates, known without asking the database: the notifications that
    follow read them from here (``new_candidates``), even before the row has its key."""
    task.new_candidates = rows


def _task_form(element, variables: dict) -> list[dict]:
    """The task's form fields; an embedded HTML form (which is not rendered here) gets a form
    generated from the variables it would show: one field per simple variable."""
    if element.form_fields:
        return element.form_fields
    form_key = element.camunda.get("formKey") or ""
    if not form_key.startswith(("embedded:", "app:")):
        return []
    kinds = {bool: "boolean", int: "long", str: "string"}
    return [
        {"id": name, "label": name, "type": kinds[type(value)], "defaultValue": None, "validation": []}
        for name, value in sorted(variables.items())
        if type(value) in kinds and name != "initiator"
    ]


def _element(instance, point):
    """The element a waiting point is, in the version of the (called) process that runs it."""
    return instance.definition.element(
        point.element_id, getattr(point, "process_key", ""), getattr(point, "process_definition_id", None)
    )


def open_tasks(*, instance, points, variables: dict) -> list[HumanTask]:
    """Create a task, with its assignee and candidates, for each newly waiting user/manual step."""
    points = [p for p in points if p.kind in HUMAN_KINDS]
    if not points:
        return []
    elements = instance.definition.elements or {}
    working_time = process_calendars.working_time_of_process(instance.definition.key)
    resolved = [
        (
            p,
            assignment.resolve(
                _element(instance, p).raw,
                instance.expression_context({**variables, **(p.data or {})}),
                working_time=working_time,
            ),
        )
        for p in points
    ]
    usernames = {a.assignee for _, a in resolved if a.assignee} | {u for _, a in resolved for u in a.candidate_users}
    group_names = {g for _, a in resolved for g in a.candidate_groups}
    users = {u.get_username(): u for u in get_user_model().objects.filter(username__in=usernames)} if usernames else {}
    groups = {g.name: g for g in Group.objects.filter(name__in=group_names)} if group_names else {}
    now = timezone.now()
    default_due = _default_due(instance) if any(a.due_at is None for _, a in resolved) else None
    tasks = writes.insert(
        [
            HumanTask(
                instance=instance,
                definition_id=instance.definition_id,
                process_key=instance.definition.key,
                business_key=instance.business_key,
                initiator_id=instance.started_by_id,
                spiff_task_id=point.spiff_task_id,
                element_id=point.element_id,
                kind=point.kind,
                name=(point.name or point.element_id)[:255],
                instructions=a.instructions,
                form=_task_form(element, {**variables, **(point.data or {})}),
                form_schema=element.camunda.get("formSchema"),
                assignee=users.get(a.assignee) if a.assignee else None,
                created_at=now,  # set again when the row is written; known before that
                claimed_at=now if a.assignee in users else None,
                priority=a.priority,
                due_at=a.due_at or _due_from(now, default_due, working_time),
                follow_up_at=a.follow_up_at,
            )
            for point, a in resolved
            for element in [_element(instance, point)]
        ]
    )
    candidates = []
    for task, (_, a) in zip(tasks, resolved, strict=True):
        own = [TaskCandidate(task=task, user=users[name]) for name in a.candidate_users if name in users]
        own += [TaskCandidate(task=task, group=groups.get(name), group_name=name) for name in a.candidate_groups]
        _known_candidates(task, own)
        candidates += own
    writes.insert(candidates)
    for hook in _OPEN_HOOKS:
        hook(tasks, elements)
    from . import escalation

    escalation.schedule(tasks)
    from notifications.services import tasks_opened

    tasks_opened(tasks)
    return tasks


def _due_from(now, period, working_time):
    """The default due date: the period from now, in the process's working time if it has one."""
    if not period:
        return None
    return working_time.add(now, period) if working_time is not None else now + period


def _default_due(instance):
    """The process settings' default due period for tasks whose diagram names none (cached
    per configuration token: it is read for every task opened)."""
    from processes.models import ProcessSettings

    key = instance.definition.key
    text = config.cached(
        "default_task_due",
        key,
        lambda: ProcessSettings.objects.filter(key=key).values_list("default_task_due", flat=True).first() or "",
    )
    return assignment.parse_duration(text) if text else None


def close_tasks(*, instance, closed: list[tuple[str, str]], completed_spiff_task_id: str | None, actor) -> None:
    """Close the tasks of steps that stopped waiting: completed by the actor, or cancelled
    (interrupted by a boundary event, a terminate end, a cancelled instance)."""
    if not closed:
        return
    now = timezone.now()
    spiff_ids = {spiff_id for spiff_id, _ in closed}
    rows = {"instance": instance, "status": TaskStatus.OPEN}
    if completed_spiff_task_id and completed_spiff_task_id in spiff_ids:
        claimed = (_CLAIMS.get() or {}).pop((instance.pk, completed_spiff_task_id), None)
        writes.update_rows(
            HumanTask,
            {**rows, "spiff_task_id": completed_spiff_task_id},
            status=TaskStatus.COMPLETED,
            completed_at=now,
            completed_by=actor if getattr(actor, "is_authenticated", False) else None,
            **({"assignee": claimed.assignee_id, "claimed_at": claimed.claimed_at} if claimed else {}),
        )
        spiff_ids.discard(completed_spiff_task_id)
    if spiff_ids:  # the rest stopped waiting without being completed
        writes.update_rows(
            HumanTask, {**rows, "spiff_task_id__in": sorted(spiff_ids)}, status=TaskStatus.CANCELLED, completed_at=now
        )


def cancel_all(*, instance) -> None:
    HumanTask.objects.filter(instance=instance, status=TaskStatus.OPEN).update(
        status=TaskStatus.CANCELLED, completed_at=timezone.now()
    )


def migrate_tasks(*, instance, moved: dict[str, tuple[str, str]], variables: dict, reevaluate: bool) -> None:
    """Open tasks follow their instance to another version: same rows, assignee, candidates
    and comments; the element, version and form become the target's. Asked to, the assignee
    and candidates are resolved again from the target (Camunda keeps them unless asked).
    One UPDATE for all; a row more only where the element or its form changed."""
    rows = HumanTask.objects.filter(instance=instance, status=TaskStatus.OPEN)
    rows.update(definition_id=instance.definition_id, process_key=instance.definition.key)
    for spiff_task_id, (_, new_element) in moved.items():
        rows.filter(spiff_task_id=spiff_task_id).update(element_id=new_element)
    for task in rows.only("pk", "element_id", "form", "form_schema"):
        element = instance.definition.element(task.element_id)
        if not element.raw:  # a called process's task: its form stays its process's
            continue
        form, schema = _task_form(element, variables), element.camunda.get("formSchema")
        if form != task.form or schema != task.form_schema:
            HumanTask.objects.filter(pk=task.pk).update(form=form, form_schema=schema)
    if reevaluate:
        _reassign(instance, list(rows), variables)


def _reassign(instance, rows: list[HumanTask], variables: dict) -> None:
    rows = [task for task in rows if instance.definition.element(task.element_id).raw]  # not a called process's
    TaskCandidate.objects.filter(task__in=rows).delete()
    for task in rows:
        a = assignment.resolve(
            instance.definition.element(task.element_id).raw,
            instance.expression_context(variables),
            working_time=process_calendars.working_time_of_process(instance.definition.key),
        )
        user_model = get_user_model()
        users = {u.get_username(): u for u in user_model.objects.filter(username__in={a.assignee, *a.candidate_users})}
        groups = {g.name: g for g in Group.objects.filter(name__in=a.candidate_groups)}
        task.assignee = users.get(a.assignee) if a.assignee else None
        task.claimed_at = timezone.now() if task.assignee else None
        task.save(update_fields=["assignee", "claimed_at"])
        TaskCandidate.objects.bulk_create(
            [TaskCandidate(task=task, user=users[name]) for name in a.candidate_users if name in users]
            + [TaskCandidate(task=task, group=groups.get(name), group_name=name) for name in a.candidate_groups]
        )


def link_candidate_group(sender, instance, created: bool = False, **_kwargs) -> None:
    """A group now named as an open task's candidate group (created, or renamed to it) is
    linked to those candidate rows, so its members may claim the tasks."""
    TaskCandidate.objects.filter(group__isnull=True, group_name=instance.name, task__status=TaskStatus.OPEN).update(
        group=instance
    )
