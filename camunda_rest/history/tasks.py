"""/engine-rest/history/task: open and ended user tasks, who did them and when."""

from __future__ import annotations

from django.db.models import Q

from tasks import selectors as task_selectors
from tasks.choices import TaskStatus
from tasks.models import HumanTask

from ..base import flag
from ..variables import camunda_date
from .query import (
    HistoryQuery,
    date_filtered,
    digits,
    id_list,
    like_pattern,
    millis,
    sorted_by,
)


def _tasks(request, params: dict):
    user = request.user
    tasks = (
        HumanTask.objects.filter(Q(pk__in=task_selectors.tasks_visible_to(user).values("pk")) | Q(completed_by=user))
        if user.is_authenticated
        else HumanTask.objects.none()
    ).select_related("assignee", "owner")
    get = params.get
    for param, lookup, convert in (
        ("taskId", "pk", digits),
        ("processInstanceId", "instance_id", digits),
        ("processInstanceBusinessKey", "business_key", str),
        ("processDefinitionId", "definition_id", digits),
        ("processDefinitionKey", "process_key", str),
        ("taskName", "name", str),
        ("taskDefinitionKey", "element_id", str),
        ("taskAssignee", "assignee__username", str),
        ("taskOwner", "owner__username", str),
        ("taskPriority", "priority", digits),
    ):
        if get(param):
            tasks = tasks.filter(**{lookup: convert(get(param))})
    if get("taskNameLike"):
        tasks = tasks.filter(name__regex=like_pattern(get("taskNameLike")))
    if get("processInstanceIdIn"):
        tasks = tasks.filter(instance_id__in=id_list(get("processInstanceIdIn")))
    if flag(get("finished")):
        tasks = tasks.exclude(status=TaskStatus.OPEN)
    if flag(get("unfinished")):
        tasks = tasks.filter(status=TaskStatus.OPEN)
    if flag(get("assigned")):
        tasks = tasks.filter(assignee__isnull=False)
    if flag(get("unassigned")):
        tasks = tasks.filter(assignee__isnull=True)
    tasks = date_filtered(
        tasks,
        params,
        {
            "taskDueBefore": "due_at__lt",
            "taskDueAfter": "due_at__gt",
            "taskFollowUpBefore": "follow_up_at__lt",
            "taskFollowUpAfter": "follow_up_at__gt",
            "startedBefore": "created_at__lte",
            "startedAfter": "created_at__gte",
            "finishedBefore": "completed_at__lte",
            "finishedAfter": "completed_at__gte",
        },
    )
    return sorted_by(
        tasks,
        params,
        {
            "taskId": "pk",
            "processInstanceId": "instance_id",
            "processDefinitionId": "definition_id",
            "startTime": "created_at",
            "endTime": "completed_at",
            "taskName": "name",
            "assignee": "assignee__username",
            "owner": "owner__username",
            "dueDate": "due_at",
            "followUpDate": "follow_up_at",
            "taskDefinitionKey": "element_id",
            "priority": "priority",
            "deleteReason": "status",
        },
        "taskId",
    )


_TASK_END = {TaskStatus.COMPLETED: ("completed", "Completed"), TaskStatus.CANCELLED: ("deleted", "Deleted")}


def historic_task_dto(task: HumanTask) -> dict:
    reason, state = _TASK_END.get(task.status, (None, "Created"))
    ended = task.completed_at if task.status != TaskStatus.OPEN else None
    return {
        "id": str(task.pk),
        "processDefinitionKey": task.process_key,
        "processDefinitionId": str(task.definition_id),
        "processInstanceId": str(task.instance_id),
        "executionId": str(task.instance_id),
        "caseDefinitionKey": None,
        "caseDefinitionId": None,
        "caseInstanceId": None,
        "caseExecutionId": None,
        "activityInstanceId": None,
        "name": task.name,
        "description": task.instructions or None,
        "deleteReason": reason,
        "owner": task.owner.get_username() if task.owner_id else None,
        "assignee": task.assignee.get_username() if task.assignee_id else None,
        "startTime": camunda_date(task.created_at),
        "endTime": camunda_date(ended),
        "duration": millis(task.created_at, ended),
        "taskDefinitionKey": task.element_id,
        "priority": task.priority,
        "due": camunda_date(task.due_at),
        "parentTaskId": None,
        "followUp": camunda_date(task.follow_up_at),
        "tenantId": None,
        "removalTime": None,
        "rootProcessInstanceId": str(task.instance_id),
        "taskState": state,
    }


Tasks = HistoryQuery.of(_tasks, historic_task_dto)
