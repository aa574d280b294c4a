"""/engine-rest/task: Camunda's task queries and task actions over the tasks app's services."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from rest_framework.response import Response

from tasks import selectors as task_selectors
from tasks import services as task_services
from tasks.choices import TaskStatus
from tasks.exceptions import TaskNotFound
from tasks.models import HumanTask

from .base import CamundaView, integer, page
from .errors import CamundaError
from .variables import camunda_date, form_field_typed, from_typed_map, parse_date, to_typed, to_typed_map

COMPLETE = "tasks:complete"


def task_dto(task: HumanTask) -> dict:
    return {
        "id": str(task.pk),
        "name": task.name,
        "assignee": task.assignee.get_username() if task.assignee_id else None,
        "owner": task.owner.get_username() if task.owner_id else None,
        "created": camunda_date(task.created_at),
        "lastUpdated": camunda_date(task.claimed_at or task.created_at),
        "due": camunda_date(task.due_at),
        "followUp": camunda_date(task.follow_up_at),
        "delegationState": task.delegation_state.upper() or None,
        "description": task.instructions or None,
        "executionId": str(task.spiff_task_id),
        "parentTaskId": None,
        "priority": task.priority,
        "processDefinitionId": str(task.definition_id),
        "processInstanceId": str(task.instance_id),
        "taskDefinitionKey": task.element_id,
        "caseExecutionId": None,
        "caseInstanceId": None,
        "caseDefinitionId": None,
        "suspended": False,
        "formKey": None,
        "camundaFormRef": None,
        "tenantId": None,
    }


_SORT = {
    "created": "created_at",
    "dueDate": "due_at",
    "followUpDate": "follow_up_at",
    "priority": "priority",
    "name": "name",
    "assignee": "assignee__username",
    "id": "id",
    "instanceId": "instance_id",
}


def _task_query(request, params) -> object:
    tasks = (
        task_selectors.tasks_visible_to(request.user).filter(status=TaskStatus.OPEN).select_related("assignee", "owner")
    )
    get = params.get
    if get("processInstanceId"):
        tasks = tasks.filter(instance_id=_digits(get("processInstanceId")))
    if get("processInstanceBusinessKey"):
        tasks = tasks.filter(business_key=get("processInstanceBusinessKey"))
    if get("processDefinitionKey"):
        tasks = tasks.filter(process_key=get("processDefinitionKey"))
    if get("processDefinitionId"):
        tasks = tasks.filter(definition_id=_digits(get("processDefinitionId")))
    if get("taskDefinitionKey"):
        tasks = tasks.filter(element_id=get("taskDefinitionKey"))
    if get("name"):
        tasks = tasks.filter(name=get("name"))
    if get("nameLike"):
        tasks = tasks.filter(name__icontains=str(get("nameLike")).strip("%"))
    if get("assignee"):
        tasks = tasks.filter(assignee__username=get("assignee"))
    if str(get("unassigned")).lower() == "true":
        tasks = tasks.filter(assignee__isnull=True)
    if str(get("assigned")).lower() == "true":
        tasks = tasks.filter(assignee__isnull=False)
    if get("candidateGroup"):
        tasks = tasks.filter(candidates__group_name=get("candidateGroup"), assignee__isnull=True)
    if get("candidateUser"):
        user = get_user_model().objects.filter(username=get("candidateUser")).first()
        if user is None:
            return tasks.none()
        tasks = tasks.filter(task_selectors.candidate_condition(user), assignee__isnull=True)
    for param, lookup in (
        ("dueBefore", "due_at__lt"),
        ("dueAfter", "due_at__gt"),
        ("followUpBefore", "follow_up_at__lt"),
        ("followUpAfter", "follow_up_at__gt"),
        ("createdBefore", "created_at__lt"),
        ("createdAfter", "created_at__gt"),
    ):
        if get(param):
            tasks = tasks.filter(**{lookup: parse_date(str(get(param)), param)})
    if get("priority"):
        tasks = tasks.filter(priority=_digits(get("priority")))
    ordering = _SORT.get(get("sortBy") or "id")
    if ordering is None:
        raise CamundaError(f"Cannot set query parameter 'sortBy' to value '{get('sortBy')}'")
    return tasks.order_by(("-" if get("sortOrder") == "desc" else "") + ordering, "id").distinct()


def _digits(value) -> int:
    return int(value) if str(value).isdigit() else -1


class List(CamundaView):
    count = False

    def get(self, request):
        tasks = _task_query(request, request.query_params)
        if self.count:
            return Response({"count": tasks.count()})
        return Response([task_dto(t) for t in page(request, tasks)])


def _task(request, task_id: str) -> HumanTask:
    if not task_id.isdigit():
        raise CamundaError(f"No matching task with id {task_id}", status=404)
    try:
        return task_services.task_get(task_id=int(task_id), user=request.user)
    except TaskNotFound:
        raise CamundaError(f"No matching task with id {task_id}", status=404) from None


def _body(request) -> dict:
    return request.data if isinstance(request.data, dict) else {}


class Detail(CamundaView):
    action_scopes = {"*": COMPLETE}

    def get(self, request, task_id):
        return Response(task_dto(_task(request, task_id)))

    def put(self, request, task_id):
        """Update name, due, followUp and priority (what Camunda's TaskDto carries)."""
        task = _task(request, task_id)
        body = _body(request)
        task_services.task_update(
            task_id=task.pk,
            user=request.user,
            name=body.get("name"),
            due_at=parse_date(body["due"], "due") if body.get("due") else None,
            follow_up_at=parse_date(body["followUp"], "followUp") if body.get("followUp") else None,
            priority=integer(body.get("priority"), "priority", minimum=-(2**31)),
        )
        return Response(status=204)


class Claim(CamundaView):
    action_scopes = {"*": COMPLETE}

    def post(self, request, task_id):
        task = _task(request, task_id)
        user_id = _body(request).get("userId")
        if not user_id:
            raise CamundaError("userId is required")
        if user_id == request.user.get_username():
            task_services.task_claim(task_id=task.pk, user=request.user)
        else:  # claiming for someone else is a reassignment (owners and administrators)
            task_services.task_reassign(task_id=task.pk, user=request.user, to_username=user_id)
        return Response(status=204)


class Unclaim(CamundaView):
    action_scopes = {"*": COMPLETE}

    def post(self, request, task_id):
        task_services.task_unclaim(task_id=_task(request, task_id).pk, user=request.user)
        return Response(status=204)


class Assignee(CamundaView):
    action_scopes = {"*": COMPLETE}

    def post(self, request, task_id):
        task = _task(request, task_id)
        user_id = _body(request).get("userId")
        if user_id:
            task_services.task_reassign(task_id=task.pk, user=request.user, to_username=user_id)
        else:
            task_services.task_unclaim(task_id=task.pk, user=request.user)
        return Response(status=204)


class Complete(CamundaView):
    """POST /task/{id}/complete and /submit-form: the form's fields are validated either way."""

    form = False
    action_scopes = {"*": COMPLETE}

    def post(self, request, task_id):
        task = _task(request, task_id)
        body = _body(request)
        variables = from_typed_map(body.get("variables"))
        task_services.task_complete(task_id=task.pk, user=request.user, data=variables)
        if body.get("withVariablesInReturn"):
            task.instance.refresh_from_db()
            return Response(to_typed_map(task.instance.variables or {}))
        return Response(status=204)


class FormVariables(CamundaView):
    def get(self, request, task_id):
        task = _task(request, task_id)
        variables = task.instance.variables or {}
        names = request.query_params.get("variableNames")
        wanted = set(names.split(",")) if names else None
        result = {}
        for field in task.form or []:
            if wanted is not None and field["id"] not in wanted:
                continue
            result[field["id"]] = form_field_typed(field, variables.get(field["id"], field.get("defaultValue")))
        if not task.form:
            result = {k: to_typed(v) for k, v in variables.items() if wanted is None or k in wanted}
        return Response(result)


class Delegate(CamundaView):
    action_scopes = {"*": COMPLETE}

    def post(self, request, task_id):
        user_id = _body(request).get("userId")
        if not user_id:
            raise CamundaError("userId is required")
        task_services.task_delegate(task_id=_task(request, task_id).pk, user=request.user, to_username=user_id)
        return Response(status=204)


class Resolve(CamundaView):
    action_scopes = {"*": COMPLETE}

    def post(self, request, task_id):
        variables = from_typed_map(_body(request).get("variables"))
        task_services.task_resolve(task_id=_task(request, task_id).pk, user=request.user, data=variables)
        return Response(status=204)


class Variables(CamundaView):
    """The task's variables: the instance's (a task has no scope of its own here)."""

    local = False

    def get(self, request, task_id):
        return Response(to_typed_map(_task(request, task_id).instance.variables or {}))


class Comments(CamundaView):
    action_scopes = {"*": COMPLETE}

    def get(self, request, task_id):
        task = _task(request, task_id)
        return Response([comment_dto(c, task) for c in task.comments.select_related("author").order_by("created_at")])

    def post(self, request, task_id):
        task = _task(request, task_id)
        comment = task_services.task_comment(task_id=task.pk, user=request.user, text=_body(request).get("message"))
        return Response(comment_dto(comment, task))


def comment_dto(comment, task: HumanTask) -> dict:
    return {
        "id": str(comment.pk),
        "userId": comment.author.get_username() if comment.author_id else None,
        "taskId": str(task.pk),
        "processInstanceId": str(task.instance_id),
        "rootProcessInstanceId": str(task.instance_id),
        "time": camunda_date(comment.created_at),
        "message": comment.text,
        "removalTime": None,
        "links": [],
    }


class IdentityLinks(CamundaView):
    removing = False  # POST .../identity-links/delete
    action_scopes = {"*": COMPLETE}

    def get(self, request, task_id):
        task = _task(request, task_id)
        links = []
        if task.assignee_id:
            links.append({"userId": task.assignee.get_username(), "groupId": None, "type": "assignee"})
        if task.owner_id:
            links.append({"userId": task.owner.get_username(), "groupId": None, "type": "owner"})
        for candidate in task.candidates.select_related("user"):
            if candidate.user_id:
                links.append({"userId": candidate.user.get_username(), "groupId": None, "type": "candidate"})
            else:
                links.append({"userId": None, "groupId": candidate.group_name, "type": "candidate"})
        kind = request.query_params.get("type")
        return Response([link for link in links if not kind or link["type"] == kind])

    def post(self, request, task_id):
        task = _task(request, task_id)
        body = _body(request)
        kind = body.get("type") or "candidate"
        if kind == "assignee":
            if self.removing:
                task_services.task_unclaim(task_id=task.pk, user=request.user)
            else:
                task_services.task_reassign(task_id=task.pk, user=request.user, to_username=body.get("userId") or "")
            return Response(status=204)
        if kind != "candidate":
            raise CamundaError(f"Identity links of type '{kind}' are not supported (candidate, assignee)")
        task_services.task_change_candidate(
            task_id=task.pk,
            user=request.user,
            username=body.get("userId") or "",
            group_name=body.get("groupId") or "",
            add=not self.removing,
        )
        return Response(status=204)


class BpmnError(CamundaView):
    escalation = False
    action_scopes = {"*": COMPLETE}

    def post(self, request, task_id):
        task = _task(request, task_id)
        body = _body(request)
        code = body.get("escalationCode" if self.escalation else "errorCode")
        if not code:
            raise CamundaError(("escalationCode" if self.escalation else "errorCode") + " is required")
        task_services.task_throw(
            task_id=task.pk,
            user=request.user,
            code=code,
            message=body.get("errorMessage") or "",
            variables=from_typed_map(body.get("variables")),
            escalation=self.escalation,
        )
        return Response(status=204)
