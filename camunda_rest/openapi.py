"""The OpenAPI document of /engine-rest (docs/engine-rest.yaml), built from the routes.

Every route of urls.py and each method its view answers must have an entry in OPERATIONS,
and every entry a route: ``manage.py engine_rest_schema`` refuses to write the document
otherwise, and the drift test compares the file with what this builds. The DTO schemas
are checked against real answers by tests/camunda_rest/test_openapi.py."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.urls import URLPattern

from .engine import CAMUNDA_VERSION
from .schemas import SCHEMAS


@dataclass(frozen=True)
class Op:
    """One documented operation: what it does, its query parameters, body and answer.

    ``answer``: a schema name, ``[Name]`` for a list, ``count``, ``vars`` (a variable map),
    ``xml`` (a file) or ``None`` (204 No Content)."""

    summary: str
    query: str = ""
    body: str | None = None
    answer: str | None = None
    tag: str = ""


_PAGE = "firstResult maxResults"
_SORT = "sortBy sortOrder"
_DEFINITION_QUERY = (
    f"processDefinitionId key keysIn keyLike name nameLike version:int deploymentId latestVersion:bool {_SORT} {_PAGE}"
)
_INSTANCE_QUERY = (
    "processDefinitionKey processDefinitionId businessKey businessKeyLike processInstanceIds active:bool "
    f"suspended:bool variables {_PAGE}"
)
_TASK_QUERY = (
    "processInstanceId processInstanceBusinessKey processDefinitionKey processDefinitionId taskDefinitionKey name "
    "nameLike assignee assigned:bool unassigned:bool candidateUser candidateGroup dueBefore dueAfter followUpBefore "
    f"followUpAfter createdBefore createdAfter priority:int {_SORT} {_PAGE}"
)
_EXTERNAL_QUERY = (
    "externalTaskId topicName workerId processInstanceId processDefinitionKey activityId locked:bool "
    f"notLocked:bool withRetriesLeft:bool noRetriesLeft:bool {_PAGE}"
)
_JOB_QUERY = (
    "jobId processInstanceId processDefinitionId processDefinitionKey activityId withRetriesLeft:bool "
    "noRetriesLeft:bool withException:bool timers:bool executable:bool active:bool suspended:bool "
    f"duedateLowerThan duedateHigherThan sortOrder {_PAGE}"
)
_DECISION_QUERY = f"decisionDefinitionId key keyLike name version:int deploymentId latestVersion:bool {_SORT} {_PAGE}"
_H_INSTANCE_QUERY = (
    "processInstanceId processInstanceIds processDefinitionId processDefinitionKey processDefinitionKeyIn "
    "processDefinitionName processInstanceBusinessKey processInstanceBusinessKeyLike startedBy finished:bool "
    "unfinished:bool withIncidents:bool active:bool suspended:bool completed:bool externallyTerminated:bool "
    f"startedBefore startedAfter finishedBefore finishedAfter {_SORT} {_PAGE}"
)
_H_ACTIVITY_QUERY = (
    "processInstanceId processDefinitionId activityInstanceId activityId activityName activityNameLike "
    "activityType taskAssignee finished:bool unfinished:bool canceled:bool completeScope:bool startedBefore "
    f"startedAfter finishedBefore finishedAfter {_SORT} {_PAGE}"
)
_H_TASK_QUERY = (
    "taskId processInstanceId processInstanceIdIn processInstanceBusinessKey processDefinitionId "
    "processDefinitionKey taskName taskNameLike taskDefinitionKey taskAssignee taskOwner taskPriority:int "
    "finished:bool unfinished:bool assigned:bool unassigned:bool taskDueBefore taskDueAfter taskFollowUpBefore "
    f"taskFollowUpAfter startedBefore startedAfter finishedBefore finishedAfter {_SORT} {_PAGE}"
)
_H_VARIABLE_QUERY = (
    "processInstanceId processInstanceIdIn processDefinitionId processDefinitionKey variableName "
    f"variableNameLike variableValue {_SORT} {_PAGE}"
)


def _history_ops(resource: str, summary: str, query: str, dto: str, id_name: str = "", one: str = "") -> dict:
    """A history resource: its query by GET and by POST body, their counts, and one by id."""
    path = f"/history/{resource}"
    ops = {
        f"get {path}": Op(summary, query, answer=f"[{dto}]"),
        f"post {path}": Op("The same query as a JSON body", _PAGE, body="object", answer=f"[{dto}]"),
        f"get {path}/count": Op("Count them", query, answer="count"),
        f"post {path}/count": Op("Count them (query as a JSON body)", body="object", answer="count"),
    }
    if id_name:
        ops[f"get {path}/{{{id_name}}}"] = Op(one, answer=dto)
    return ops


OPERATIONS: dict[str, Op] = {
    "get /engine": Op("The engines of this server (one, named default)", answer="[EngineDto]"),
    "get /version": Op("The Camunda REST version whose shapes this surface follows", answer="VersionDto"),
    # deployments
    "post /deployment/create": Op(
        "Deploy BPMN, DMN and form files (multipart as Camunda Modeler sends it)",
        body="multipart",
        answer="DeploymentWithDefinitionsDto",
    ),
    "get /deployment": Op(
        "Deployments holding definitions you may see", f"id name nameLike source {_PAGE}", answer="[DeploymentDto]"
    ),
    "get /deployment/count": Op("Count deployments", "id name nameLike source", answer="count"),
    "get /deployment/{deployment_id}": Op("A deployment", answer="DeploymentDto"),
    "delete /deployment/{deployment_id}": Op(
        "Delete a deployment; with instances only with cascade=true (administrators)", "cascade:bool"
    ),
    "get /deployment/{deployment_id}/resources": Op("The files of a deployment", answer="[DeploymentResourceDto]"),
    # process definitions
    "get /process-definition": Op("Process definitions", _DEFINITION_QUERY, answer="[ProcessDefinitionDto]"),
    "get /process-definition/count": Op("Count process definitions", _DEFINITION_QUERY, answer="count"),
    "get /process-definition/key/{key}": Op("The active version of a process", answer="ProcessDefinitionDto"),
    "get /process-definition/key/{key}/xml": Op("Its BPMN XML", answer="ProcessDefinitionDiagramDto"),
    "post /process-definition/key/{key}/start": Op(
        "Start an instance of the active version",
        body="StartProcessInstanceDto",
        answer="ProcessInstanceWithVariablesDto",
    ),
    "post /process-definition/key/{key}/submit-form": Op(
        "Start with the start form's fields (validated)", body="StartProcessInstanceDto", answer="ProcessInstanceDto"
    ),
    "get /process-definition/key/{key}/form-variables": Op("The start form's fields as typed variables", answer="vars"),
    "get /process-definition/{definition_id}": Op("A process definition version", answer="ProcessDefinitionDto"),
    "put /process-definition/{definition_id}/suspended": Op(
        "Suspend or resume a version (no new instances while suspended)", body="DefinitionSuspensionStateDto"
    ),
    "put /process-definition/{definition_id}/history-time-to-live": Op(
        "Days ended instances of this version are kept (null: the server's default)", body="HistoryTimeToLiveDto"
    ),
    "put /process-definition/key/{key}/history-time-to-live": Op(
        "The same for the key's active version", body="HistoryTimeToLiveDto"
    ),
    "put /process-definition/key/{key}/suspended": Op(
        "Suspend or resume every version of a key", body="DefinitionSuspensionStateDto"
    ),
    "delete /process-definition/{definition_id}": Op(
        "Delete a version; 409 while it has instances unless cascade=true (administrators)", "cascade:bool"
    ),
    "delete /process-definition/key/{key}": Op(
        "Delete every version of a key; 409 while they have instances unless cascade=true (administrators)",
        "cascade:bool",
    ),
    "get /process-definition/{definition_id}/xml": Op("Its BPMN XML", answer="ProcessDefinitionDiagramDto"),
    "post /process-definition/{definition_id}/start": Op(
        "Start an instance of this version", body="StartProcessInstanceDto", answer="ProcessInstanceWithVariablesDto"
    ),
    "post /process-definition/{definition_id}/submit-form": Op(
        "Start this version with the start form's fields", body="StartProcessInstanceDto", answer="ProcessInstanceDto"
    ),
    "get /process-definition/{definition_id}/form-variables": Op(
        "The start form's fields as typed variables", answer="vars"
    ),
    # process instances
    "get /process-instance": Op("Running and suspended instances", _INSTANCE_QUERY, answer="[ProcessInstanceDto]"),
    "get /process-instance/count": Op("Count running and suspended instances", _INSTANCE_QUERY, answer="count"),
    "get /process-instance/{instance_id}": Op("A running or suspended instance", answer="ProcessInstanceDto"),
    "delete /process-instance/{instance_id}": Op(
        "Cancel an instance (its history is kept)", "deleteReason skipCustomListeners:bool"
    ),
    "get /process-instance/{instance_id}/variables": Op("The instance's variables", answer="vars"),
    "post /process-instance/{instance_id}/variables": Op(
        "Set and delete variables in one command", body="PatchVariablesDto"
    ),
    "get /process-instance/{instance_id}/variables/{name}": Op("One variable", answer="VariableValueDto"),
    "put /process-instance/{instance_id}/variables/{name}": Op("Set one variable", body="VariableValueDto"),
    "delete /process-instance/{instance_id}/variables/{name}": Op("Delete one variable"),
    "put /process-instance/{instance_id}/suspended": Op("Suspend or resume", body="SuspensionStateDto"),
    "get /process-instance/{instance_id}/activity-instances": Op(
        "Where the instance waits, as an activity instance tree", answer="ActivityInstanceDto"
    ),
    "post /process-instance/{instance_id}/modification": Op(
        "Cancel activity instances, start before or after activities, atomically (annotation: the reason)",
        body="ProcessInstanceModificationDto",
    ),
    # migration
    "post /migration/generate": Op(
        "A plan mapping the activities both versions share",
        body="MigrationPlanGenerationDto",
        answer="MigrationPlanDto",
    ),
    "post /migration/validate": Op(
        "Check a plan against its two versions", body="MigrationPlanDto", answer="MigrationPlanReportDto"
    ),
    "post /migration/execute": Op(
        "Migrate instances, all or none (400 MigratingProcessInstanceValidationException with a report each)",
        body="MigrationExecutionDto",
    ),
    "post /migration/executeAsync": Op(
        "Migrate instances as a batch (a failure per instance)", body="MigrationExecutionDto", answer="BatchDto"
    ),
    # batches
    "get /batch": Op("Running batches", f"batchId type {_PAGE}", answer="[BatchDto]"),
    "get /batch/count": Op("Count running batches", "batchId type", answer="count"),
    "get /batch/statistics": Op(
        "Running batches with their progress", f"batchId type {_PAGE}", answer="[BatchStatisticsDto]"
    ),
    "get /batch/statistics/count": Op("Count running batches", "batchId type", answer="count"),
    "get /batch/{batch_id}": Op("A running batch", answer="BatchDto"),
    "delete /batch/{batch_id}": Op("Stop a batch (what it did stays done)"),
    # tasks
    "get /task": Op("Open tasks you may see", _TASK_QUERY, answer="[TaskDto]"),
    "get /task/count": Op("Count open tasks", _TASK_QUERY, answer="count"),
    "get /task/{task_id}": Op("A task", answer="TaskDto"),
    "put /task/{task_id}": Op("Change name, due, follow-up and priority", body="TaskUpdateDto"),
    "post /task/{task_id}/claim": Op("Claim for a user", body="UserIdDto"),
    "post /task/{task_id}/unclaim": Op("Give the task back to its candidates"),
    "post /task/{task_id}/assignee": Op("Set the assignee", body="UserIdDto"),
    "post /task/{task_id}/complete": Op(
        "Complete (204, or the variables with withVariablesInReturn)", body="CompleteTaskDto", answer="vars"
    ),
    "post /task/{task_id}/submit-form": Op(
        "Complete with the form's fields (validated)", body="CompleteTaskDto", answer="vars"
    ),
    "get /task/{task_id}/form-variables": Op("The form's fields as typed variables", answer="vars"),
    "post /task/{task_id}/delegate": Op("Delegate to a user (who resolves it back)", body="UserIdDto"),
    "post /task/{task_id}/resolve": Op("Resolve a delegated task back to its owner", body="CompleteTaskDto"),
    "get /task/{task_id}/variables": Op("The task's variables (its instance's)", answer="vars"),
    "get /task/{task_id}/localVariables": Op("The task's variables (its instance's)", answer="vars"),
    "get /task/{task_id}/comment": Op("Comments on the task", answer="[CommentDto]"),
    "post /task/{task_id}/comment": Op("Add a comment", body="CreateCommentDto", answer="CommentDto"),
    "post /task/{task_id}/comment/create": Op("Add a comment", body="CreateCommentDto", answer="CommentDto"),
    "get /task/{task_id}/identity-links": Op("Assignee, owner and candidates", "type", answer="[IdentityLinkDto]"),
    "post /task/{task_id}/identity-links": Op(
        "Add a candidate user or group, or set the assignee", body="IdentityLinkDto"
    ),
    "post /task/{task_id}/identity-links/delete": Op("Remove a candidate, or the assignee", body="IdentityLinkDto"),
    "post /task/{task_id}/bpmnError": Op("Throw a BPMN error at the task", body="TaskBpmnErrorDto"),
    "post /task/{task_id}/bpmnEscalation": Op("Throw a BPMN escalation at the task", body="TaskEscalationDto"),
    # external tasks
    "get /external-task": Op("External tasks", _EXTERNAL_QUERY, answer="[ExternalTaskDto]"),
    "get /external-task/count": Op("Count external tasks", _EXTERNAL_QUERY, answer="count"),
    "post /external-task/fetchAndLock": Op(
        "Fetch and lock tasks of topics (long polling with asyncResponseTimeout)",
        body="FetchExternalTasksDto",
        answer="[LockedExternalTaskDto]",
    ),
    "get /external-task/topic-names": Op(
        "Topics with tasks", "withLockedTasks:bool withUnlockedTasks:bool withRetriesLeft:bool", answer="list"
    ),
    "get /external-task/{task_id}": Op("An external task", answer="ExternalTaskDto"),
    "get /external-task/{task_id}/errorDetails": Op("The details of its last failure", answer="text"),
    "post /external-task/{task_id}/complete": Op(
        "Complete (by the worker holding the lock)", body="CompleteExternalTaskDto"
    ),
    "post /external-task/{task_id}/failure": Op(
        "Report a failure: retries left and when to retry; at 0 an incident", body="ExternalTaskFailureDto"
    ),
    "post /external-task/{task_id}/bpmnError": Op("Throw a BPMN error at the task", body="ExternalTaskBpmnErrorDto"),
    "post /external-task/{task_id}/extendLock": Op("Extend the worker's lock", body="ExtendLockDto"),
    "post /external-task/{task_id}/unlock": Op("Release the lock"),
    "put /external-task/{task_id}/retries": Op("Set the retries (above 0 resolves its incident)", body="RetriesDto"),
    # decisions
    "get /decision-definition": Op("Decision definitions", _DECISION_QUERY, answer="[DecisionDefinitionDto]"),
    "get /decision-definition/count": Op("Count decision definitions", _DECISION_QUERY, answer="count"),
    "get /decision-definition/key/{key}": Op("The latest version of a decision", answer="DecisionDefinitionDto"),
    "get /decision-definition/key/{key}/xml": Op("Its DMN XML", answer="DecisionDefinitionDiagramDto"),
    "get /decision-definition/key/{key}/diagram": Op("Its DMN file", answer="xml"),
    "post /decision-definition/key/{key}/evaluate": Op(
        "Evaluate the latest version: one entry per matched rule (after hit policy and aggregation)",
        body="EvaluateDecisionDto",
        answer="[VariableMap]",
    ),
    "get /decision-definition/{decision_id}": Op("A decision definition version", answer="DecisionDefinitionDto"),
    "get /decision-definition/{decision_id}/xml": Op("Its DMN XML", answer="DecisionDefinitionDiagramDto"),
    "get /decision-definition/{decision_id}/diagram": Op("Its DMN file", answer="xml"),
    "post /decision-definition/{decision_id}/evaluate": Op(
        "Evaluate this version", body="EvaluateDecisionDto", answer="[VariableMap]"
    ),
    # history
    **_history_ops(
        "process-instance",
        "Running and ended instances",
        _H_INSTANCE_QUERY,
        "HistoricProcessInstanceDto",
        "instance_id",
        "A running or ended instance",
    ),
    **_history_ops(
        "activity-instance",
        "Elements instances passed through (open, completed, cancelled)",
        _H_ACTIVITY_QUERY,
        "HistoricActivityInstanceDto",
        "activity_instance_id",
        "An activity instance",
    ),
    **_history_ops("task", "Open and ended tasks", _H_TASK_QUERY, "HistoricTaskInstanceDto"),
    **_history_ops(
        "variable-instance",
        "Variables of running and ended instances (their last values)",
        _H_VARIABLE_QUERY,
        "HistoricVariableInstanceDto",
        "variable_id",
        "A variable ({instance id}:{name})",
    ),
    "post /history/cleanup": Op(
        "Schedule a history clean-up job (administrators)", "immediatelyDue:bool", answer="JobDto"
    ),
    # jobs
    "get /job": Op("Jobs (timers, service calls, async continuations)", _JOB_QUERY, answer="[JobDto]"),
    "get /job/count": Op("Count jobs", _JOB_QUERY, answer="count"),
    "get /job/{job_id}": Op("A job", answer="JobDto"),
    "put /job/{job_id}/retries": Op(
        "Set the attempts left (a failed job runs again, its incident resolved)", body="JobRetriesDto"
    ),
    "put /job/{job_id}/duedate": Op("Move a pending job's due date", body="JobDuedateDto"),
    # messages and signals
    "post /message": Op(
        "Correlate a message (starts or resumes instances)",
        body="CorrelationMessageDto",
        answer="[MessageCorrelationResultDto]",
    ),
    "post /signal": Op("Broadcast a signal", body="SignalDto"),
}

_METHODS = ("get", "post", "put", "delete")


def routes(patterns: list[URLPattern] | None = None) -> dict[str, type]:
    """``"method /path"`` -> view class, for every route and method it answers."""
    if patterns is None:
        from .urls import resource_patterns as patterns
    found = {}
    for pattern in patterns:
        path = "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", str(pattern.pattern))
        view = pattern.callback.view_class
        allowed = pattern.callback.view_initkwargs.get("http_method_names", view.http_method_names)
        for method in _METHODS:
            if hasattr(view, method) and method in allowed:
                found[f"{method} {path}"] = view
    return found


class UndocumentedRoute(Exception):
    pass


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _answer(answer: str | None) -> dict:
    ok = "200"
    if answer is None:
        return {"204": {"description": "No content"}}
    if answer == "count":
        schema = _ref("CountResultDto")
    elif answer == "vars":
        return {
            "200": {"description": "Typed variables", "content": {"application/json": {"schema": _ref("VariableMap")}}},
            "204": {"description": "No content (complete without withVariablesInReturn)"},
        }
    elif answer == "xml":
        return {ok: {"description": "The file", "content": {"application/xml": {"schema": {"type": "string"}}}}}
    elif answer == "text":
        return {ok: {"description": "Text", "content": {"text/plain": {"schema": {"type": "string"}}}}}
    elif answer == "list":
        schema = {"type": "array", "items": {"type": "string"}}
    elif answer.startswith("["):
        schema = {"type": "array", "items": _ref(answer.strip("[]"))}
    else:
        schema = _ref(answer)
    return {ok: {"description": "OK", "content": {"application/json": {"schema": schema}}}}


def _body(body: str) -> dict:
    if body == "multipart":
        return {
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "deployment-name": {"type": "string"},
                            "deployment-source": {"type": "string"},
                            "deploy-changed-only": {"type": "boolean"},
                            "enable-duplicate-filtering": {"type": "boolean"},
                            "tenant-id": {"type": "string"},
                        },
                        "additionalProperties": {"type": "string", "format": "binary"},
                    }
                }
            }
        }
    schema = {"type": "object", "description": "The query's parameters by name"} if body == "object" else _ref(body)
    return {"content": {"application/json": {"schema": schema}}}


def _parameters(path: str, query: str) -> list[dict]:
    params = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in re.findall(r"{(\w+)}", path)
    ]
    for item in query.split():
        name, _, kind = item.partition(":")
        params.append(
            {"name": name, "in": "query", "schema": {"type": {"int": "integer", "bool": "boolean"}.get(kind, "string")}}
        )
    return params


def build(patterns: list[URLPattern] | None = None) -> dict:
    """The document; raises UndocumentedRoute naming each route without an entry and each
    entry without a route."""
    found = routes(patterns)
    missing = sorted(set(found) - set(OPERATIONS))
    stale = sorted(set(OPERATIONS) - set(found))
    if missing or stale:
        raise UndocumentedRoute(f"routes without documentation: {missing}; documented but not routed: {stale}")
    paths: dict[str, dict] = {}
    for key, op in OPERATIONS.items():
        method, path = key.split(" ", 1)
        entry = {
            "summary": op.summary,
            "tags": [path.strip("/").split("/")[0 if not path.startswith("/history") else 1]],
            "parameters": _parameters(path, op.query),
            "responses": {
                **_answer(op.answer),
                "400": {
                    "description": "Bad request",
                    "content": {"application/json": {"schema": _ref("ExceptionDto")}},
                },
            },
        }
        if op.body:
            entry["requestBody"] = _body(op.body)
        paths.setdefault(path, {})[method] = entry
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "/engine-rest: Camunda 7 REST compatibility",
            "version": CAMUNDA_VERSION,
            "description": "Camunda 7.2x request and response shapes for existing clients (docs/ENGINE_REST.md); "
            "errors as ExceptionDto with Camunda's status codes. Our own API is /api/v1 (docs/openapi.yaml).",
        },
        "servers": [{"url": "/engine-rest"}],
        "security": [{"basic": []}, {"bearer": []}],
        "paths": paths,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "basic": {"type": "http", "scheme": "basic"},
                "bearer": {"type": "http", "scheme": "bearer", "description": "OAuth2 token of an API client"},
            },
        },
    }
