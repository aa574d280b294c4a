"""/engine-rest/external-task: Camunda's external-task worker protocol over
processes.services.external_tasks."""

from __future__ import annotations

import time

from django.conf import settings
from django.db import close_old_connections, connection
from django.db.models import Q
from django.utils import timezone
from rest_framework.response import Response

from processes.services import external_tasks as service

from . import longpoll
from .base import CamundaView, flag, integer, page
from .errors import CamundaError
from .variables import camunda_date, from_typed, from_typed_map, to_typed_map

WORK = "instances:manage"


def external_task_dto(step, variables: dict | None = None) -> dict:
    instance = step.instance
    dto = {
        "activityId": step.element_id,
        "activityInstanceId": f"{step.element_id}:{step.spiff_task_id}",
        "errorMessage": step.error_message or None,
        "errorDetails": step.error_details or None,
        "executionId": str(step.spiff_task_id),
        "id": str(step.spiff_task_id),
        "lockExpirationTime": camunda_date(step.lock_expires_at),
        "createTime": camunda_date(step.created_at),
        "processDefinitionId": str(instance.definition_id),
        "processDefinitionKey": instance.definition.key,
        "processDefinitionVersionTag": None,
        "processInstanceId": str(instance.pk),
        "tenantId": None,
        "retries": step.retries,
        "suspended": instance.status == "suspended",
        "workerId": step.worker_id or None,
        "topicName": step.event_name,
        "priority": step.priority,
        "businessKey": instance.business_key or None,
    }
    if variables is not None:
        dto["variables"] = to_typed_map(variables)
        dto["extensionProperties"] = {}
    return dto


def _topics(body: dict) -> list[service.TopicRequest]:
    topics = body.get("topics") or []
    if not isinstance(topics, list):
        raise CamundaError("'topics' must be a list")
    requests = []
    for topic in topics:
        if not isinstance(topic, dict) or not topic.get("topicName"):
            raise CamundaError("Every topic needs a 'topicName'")
        lock_duration = integer(topic.get("lockDuration"), "lockDuration")
        if lock_duration is None:
            raise CamundaError(f"Topic '{topic['topicName']}' needs a 'lockDuration' (milliseconds)")
        keys = list(topic.get("processDefinitionKeyIn") or [])
        if topic.get("processDefinitionKey"):
            keys.append(topic["processDefinitionKey"])
        ids = [str(i) for i in topic.get("processDefinitionIdIn") or []]
        if topic.get("processDefinitionId"):
            ids.append(str(topic["processDefinitionId"]))
        requests.append(
            service.TopicRequest(
                topic=topic["topicName"],
                lock_duration_ms=lock_duration,
                variables=topic.get("variables"),
                business_key=topic.get("businessKey"),
                process_definition_keys=keys,
                process_definition_ids=ids,
                process_variables=_plain_values(topic.get("processVariables")),
            )
        )
    return requests


def _plain_values(variables) -> dict:
    """processVariables of a topic: plain values (Camunda) or typed ones (some clients)."""
    if not isinstance(variables, dict):
        return {}
    return {
        name: from_typed(name, value) if isinstance(value, dict) and "type" in value else value
        for name, value in variables.items()
    }


class FetchAndLock(CamundaView):
    """POST /external-task/fetchAndLock, with long polling (asyncResponseTimeout, ms)."""

    action_scopes = {"*": WORK}

    def post(self, request):
        body = request.data if isinstance(request.data, dict) else {}
        topics = _topics(body)
        worker_id = body.get("workerId") or ""
        max_tasks = integer(body.get("maxTasks"), "maxTasks", 1)
        use_priority = bool(body.get("usePriority"))
        timeout_ms = integer(body.get("asyncResponseTimeout"), "asyncResponseTimeout", 0)
        deadline = time.monotonic() + min(timeout_ms / 1000, settings.BPM["LONG_POLL_MAX_SECONDS"])
        recheck = settings.BPM["LONG_POLL_RECHECK_SECONDS"]

        def fetch():
            return service.fetch_and_lock(
                worker_id=worker_id, max_tasks=max_tasks, topics=topics, use_priority=use_priority, user=request.user
            )

        takes_any: dict[str, bool] = {}
        for t in topics:
            plain = not (t.business_key or t.process_definition_keys or t.process_definition_ids or t.process_variables)
            takes_any[t.topic] = takes_any.get(t.topic, False) or plain
        with longpoll.Listener(takes_any) as listener:
            locked = fetch()
            while not locked and time.monotonic() < deadline:
                # wait without a database connection; woken when tasks of a topic may be free
                if not connection.in_atomic_block:
                    connection.close()
                listener.wait(min(recheck, deadline - time.monotonic()))
                close_old_connections()
                locked = fetch()
        return Response([external_task_dto(t.step, t.variables) for t in locked])


class ExternalTaskList(CamundaView):
    """GET /external-task and /external-task/count."""

    count = False

    def get(self, request):
        params = request.query_params
        tasks = service.visible_external_tasks(request.user).order_by("created_at", "id")
        if params.get("topicName"):
            tasks = tasks.filter(event_name=params["topicName"])
        if params.get("workerId"):
            tasks = tasks.filter(worker_id=params["workerId"])
        if params.get("processInstanceId"):
            tasks = tasks.filter(instance_id=_number(params["processInstanceId"]))
        if params.get("processDefinitionKey"):
            tasks = tasks.filter(instance__definition__key=params["processDefinitionKey"])
        if params.get("activityId"):
            tasks = tasks.filter(element_id=params["activityId"])
        if flag(params.get("withRetriesLeft")):
            tasks = tasks.exclude(retries=0)
        if flag(params.get("noRetriesLeft")):
            tasks = tasks.filter(retries=0)
        if flag(params.get("locked")):
            tasks = tasks.filter(lock_expires_at__gt=timezone.now())
        if flag(params.get("notLocked")):
            tasks = tasks.filter(Q(lock_expires_at__isnull=True) | Q(lock_expires_at__lte=timezone.now()))
        if self.count:
            return Response({"count": tasks.count()})
        return Response([external_task_dto(step) for step in page(request, tasks)])


def _number(value: str) -> int:
    return int(value) if str(value).isdigit() else -1


class ExternalTaskDetail(CamundaView):
    def get(self, request, task_id):
        return Response(external_task_dto(service.external_task_get(task_id, request.user)))


class ErrorDetails(CamundaView):
    def get(self, request, task_id):
        return Response(service.external_task_get(task_id, request.user).error_details or "")


def _worker(body: dict) -> str:
    worker = body.get("workerId")
    if not worker:
        raise CamundaError("'workerId' is required")
    return worker


def _body(request) -> dict:
    return request.data if isinstance(request.data, dict) else {}


class Complete(CamundaView):
    action_scopes = {"*": WORK}

    def post(self, request, task_id):
        body = _body(request)
        service.complete(
            task_id=task_id,
            worker_id=_worker(body),
            variables=from_typed_map(body.get("variables")),
            local_variables=from_typed_map(body.get("localVariables"), "localVariables"),
            user=request.user,
        )
        return Response(status=204)


class Failure(CamundaView):
    action_scopes = {"*": WORK}

    def post(self, request, task_id):
        body = _body(request)
        service.handle_failure(
            task_id=task_id,
            worker_id=_worker(body),
            error_message=body.get("errorMessage") or "",
            error_details=body.get("errorDetails") or "",
            retries=integer(body.get("retries"), "retries"),
            retry_timeout_ms=integer(body.get("retryTimeout"), "retryTimeout", 0),
            user=request.user,
        )
        return Response(status=204)


class BpmnError(CamundaView):
    action_scopes = {"*": WORK}

    def post(self, request, task_id):
        body = _body(request)
        service.handle_bpmn_error(
            task_id=task_id,
            worker_id=_worker(body),
            error_code=body.get("errorCode") or "",
            error_message=body.get("errorMessage") or "",
            variables=from_typed_map(body.get("variables")),
            user=request.user,
        )
        return Response(status=204)


class ExtendLock(CamundaView):
    action_scopes = {"*": WORK}

    def post(self, request, task_id):
        body = _body(request)
        service.extend_lock(
            task_id=task_id,
            worker_id=_worker(body),
            new_duration_ms=integer(body.get("newDuration"), "newDuration", 0),
            user=request.user,
        )
        return Response(status=204)


class Unlock(CamundaView):
    action_scopes = {"*": WORK}

    def post(self, request, task_id):
        service.unlock(task_id=task_id, user=request.user)
        return Response(status=204)


class Retries(CamundaView):
    action_scopes = {"*": WORK}

    def put(self, request, task_id):
        body = _body(request)
        retries = integer(body.get("retries"), "retries")
        if retries is None:
            raise CamundaError("'retries' is required")
        service.set_retries(task_id=task_id, retries=retries, user=request.user)
        return Response(status=204)


class TopicNames(CamundaView):
    def get(self, request):
        names = service.visible_external_tasks(request.user).values_list("event_name", flat=True).distinct()
        return Response(sorted(set(names)))
