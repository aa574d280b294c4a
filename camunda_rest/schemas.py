"""The shapes of /engine-rest bodies and answers (Camunda's DTOs), for docs/engine-rest.yaml;
tests/camunda_rest/test_openapi.py checks real answers carry exactly these fields."""

from __future__ import annotations

_TYPES = {
    "str": {"type": "string", "nullable": True},
    "int": {"type": "integer", "nullable": True},
    "num": {"type": "number", "nullable": True},
    "bool": {"type": "boolean", "nullable": True},
    "date": {"type": "string", "format": "date-time", "nullable": True, "description": "yyyy-MM-dd'T'HH:mm:ss.SSSZ"},
    "vars": {"$ref": "#/components/schemas/VariableMap"},
    "list": {"type": "array", "items": {}},
    "obj": {"type": "object", "nullable": True},
}


def _object(spec: str) -> dict:
    """``"id name version:int"``: each field a nullable string unless typed."""
    properties = {}
    for item in spec.split():
        name, _, kind = item.partition(":")
        if kind.startswith("[") or kind[:1].isupper():
            target = kind.strip("[]")
            ref = {"$ref": f"#/components/schemas/{target}"}
            properties[name] = {"type": "array", "items": ref} if kind.startswith("[") else ref
        else:
            properties[name] = dict(_TYPES[kind or "str"])
    return {"type": "object", "properties": properties}


SCHEMAS: dict[str, dict] = {
    "ExceptionDto": _object("type message"),
    "ParseExceptionDto": _object("type message details:obj"),
    "CountResultDto": _object("count:int"),
    "VariableValueDto": {
        "type": "object",
        "properties": {
            "value": {"nullable": True},
            "type": {
                "type": "string",
                "enum": ["String", "Boolean", "Integer", "Long", "Short", "Double", "Date", "Json", "Null"],
            },
            "valueInfo": {"type": "object"},
        },
    },
    "VariableMap": {"type": "object", "additionalProperties": {"$ref": "#/components/schemas/VariableValueDto"}},
    "EngineDto": _object("name"),
    "VersionDto": _object("version"),
    "DeploymentDto": _object("id name source deploymentTime:date tenantId links:list"),
    "DeploymentWithDefinitionsDto": _object(
        "id name source deploymentTime:date tenantId links:list deployedProcessDefinitions:obj "
        "deployedCaseDefinitions:obj deployedDecisionDefinitions:obj deployedDecisionRequirementsDefinitions:obj"
    ),
    "DeploymentResourceDto": _object("id name deploymentId"),
    "ProcessDefinitionDto": _object(
        "id key category description name version:int resource deploymentId diagram suspended:bool tenantId "
        "versionTag historyTimeToLive:int startableInTasklist:bool"
    ),
    "ProcessDefinitionDiagramDto": _object("id bpmn20Xml"),
    "StartProcessInstanceDto": _object("businessKey variables:vars withVariablesInReturn:bool"),
    "ProcessInstanceDto": _object(
        "links:list id definitionId definitionKey businessKey caseInstanceId ended:bool suspended:bool tenantId"
    ),
    "ProcessInstanceWithVariablesDto": _object(
        "links:list id definitionId definitionKey businessKey caseInstanceId ended:bool suspended:bool tenantId "
        "variables:vars"
    ),
    "PatchVariablesDto": _object("modifications:vars deletions:list"),
    "SuspensionStateDto": _object("suspended:bool"),
    "ActivityInstanceDto": _object(
        "id parentActivityInstanceId activityId activityType processInstanceId processDefinitionId "
        "childActivityInstances:[ActivityInstanceDto] childTransitionInstances:list executionIds:list "
        "activityName name incidentIds:list incidents:list"
    ),
    "TaskDto": _object(
        "id name assignee owner created:date lastUpdated:date due:date followUp:date delegationState description "
        "executionId parentTaskId priority:int processDefinitionId processInstanceId taskDefinitionKey "
        "caseExecutionId caseInstanceId caseDefinitionId suspended:bool formKey camundaFormRef:obj tenantId"
    ),
    "TaskUpdateDto": _object("name due:date followUp:date priority:int"),
    "UserIdDto": _object("userId"),
    "CompleteTaskDto": _object("variables:vars withVariablesInReturn:bool"),
    "CommentDto": _object(
        "id userId taskId processInstanceId rootProcessInstanceId time:date message removalTime:date links:list"
    ),
    "CreateCommentDto": _object("message"),
    "IdentityLinkDto": _object("userId groupId type"),
    "TaskBpmnErrorDto": _object("errorCode errorMessage variables:vars"),
    "TaskEscalationDto": _object("escalationCode variables:vars"),
    "FetchExternalTasksDto": _object(
        "workerId maxTasks:int usePriority:bool asyncResponseTimeout:int topics:[FetchExternalTaskTopicDto]"
    ),
    "FetchExternalTaskTopicDto": _object(
        "topicName lockDuration:int variables:list businessKey processDefinitionId processDefinitionIdIn:list "
        "processDefinitionKey processDefinitionKeyIn:list processVariables:obj deserializeValues:bool"
    ),
    "ExternalTaskDto": _object(
        "activityId activityInstanceId errorMessage errorDetails executionId id lockExpirationTime:date "
        "createTime:date processDefinitionId processDefinitionKey processDefinitionVersionTag processInstanceId "
        "tenantId retries:int suspended:bool workerId topicName priority:int businessKey"
    ),
    "LockedExternalTaskDto": _object(
        "activityId activityInstanceId errorMessage errorDetails executionId id lockExpirationTime:date "
        "createTime:date processDefinitionId processDefinitionKey processDefinitionVersionTag processInstanceId "
        "tenantId retries:int suspended:bool workerId topicName priority:int businessKey variables:vars "
        "extensionProperties:obj"
    ),
    "CompleteExternalTaskDto": _object("workerId variables:vars localVariables:vars"),
    "ExternalTaskFailureDto": _object("workerId errorMessage errorDetails retries:int retryTimeout:int"),
    "ExternalTaskBpmnErrorDto": _object("workerId errorCode errorMessage variables:vars"),
    "ExtendLockDto": _object("workerId newDuration:int"),
    "RetriesDto": _object("retries:int"),
    "CorrelationMessageDto": _object(
        "messageName businessKey correlationKeys:vars localCorrelationKeys:vars processVariables:vars "
        "processVariablesLocal:vars all:bool resultEnabled:bool variablesInResultEnabled:bool"
    ),
    "MessageCorrelationResultDto": _object(
        "resultType processInstance:ProcessInstanceDto execution:obj variables:vars"
    ),
    "SignalDto": _object("name variables:vars"),
    "DecisionDefinitionDto": _object(
        "id key category name version:int resource deploymentId decisionRequirementsDefinitionId "
        "decisionRequirementsDefinitionKey tenantId versionTag historyTimeToLive:int"
    ),
    "DecisionDefinitionDiagramDto": _object("id dmnXml"),
    "EvaluateDecisionDto": _object("variables:vars"),
    "HistoricProcessInstanceDto": _object(
        "id rootProcessInstanceId superProcessInstanceId superCaseInstanceId caseInstanceId processDefinitionName "
        "processDefinitionKey processDefinitionVersion:int processDefinitionId businessKey startTime:date "
        "endTime:date removalTime:date durationInMillis:int startUserId startActivityId deleteReason tenantId "
        "state restartedProcessInstanceId"
    ),
    "HistoricActivityInstanceDto": _object(
        "id parentActivityInstanceId activityId activityName activityType processDefinitionKey "
        "processDefinitionId processInstanceId executionId taskId assignee calledProcessInstanceId "
        "calledCaseInstanceId startTime:date endTime:date durationInMillis:int canceled:bool completeScope:bool "
        "tenantId removalTime:date rootProcessInstanceId"
    ),
    "HistoricTaskInstanceDto": _object(
        "id processDefinitionKey processDefinitionId processInstanceId executionId caseDefinitionKey "
        "caseDefinitionId caseInstanceId caseExecutionId activityInstanceId name description deleteReason owner "
        "assignee startTime:date endTime:date duration:int taskDefinitionKey priority:int due:date parentTaskId "
        "followUp:date tenantId removalTime:date rootProcessInstanceId taskState"
    ),
    "HistoricVariableInstanceDto": _object(
        "id name type value:obj valueInfo:obj processDefinitionKey processDefinitionId processInstanceId "
        "executionId activityInstanceId caseDefinitionKey caseDefinitionId caseInstanceId caseExecutionId taskId "
        "tenantId errorMessage state createTime:date removalTime:date rootProcessInstanceId"
    ),
}
SCHEMAS["JobDto"] = _object(
    "id jobDefinitionId processInstanceId processDefinitionId processDefinitionKey executionId exceptionMessage "
    "failedActivityId retries:int dueDate:date suspended:bool priority:int tenantId createTime:date batchId"
)
SCHEMAS["DefinitionSuspensionStateDto"] = _object("suspended:bool includeProcessInstances:bool executionDate:date")
SCHEMAS["HistoryTimeToLiveDto"] = _object("historyTimeToLive:int")
SCHEMAS["JobRetriesDto"] = _object("retries:int")
SCHEMAS["JobDuedateDto"] = _object("duedate:date")
# value: any JSON value, as the variable holds it
SCHEMAS["HistoricVariableInstanceDto"]["properties"]["value"] = {"nullable": True}
# migration, modification, batches
SCHEMAS["MigrationPlanGenerationDto"] = _object(
    "sourceProcessDefinitionId targetProcessDefinitionId updateEventTriggers:bool variables:vars"
)
SCHEMAS["MigrationInstructionDto"] = _object("sourceActivityIds:list targetActivityIds:list updateEventTrigger:bool")
SCHEMAS["MigrationPlanDto"] = _object(
    "sourceProcessDefinitionId targetProcessDefinitionId instructions:[MigrationInstructionDto] variables:obj"
)
SCHEMAS["MigrationInstructionValidationReportDto"] = _object("instruction:MigrationInstructionDto failures:list")
SCHEMAS["MigrationPlanReportDto"] = _object(
    "instructionReports:[MigrationInstructionValidationReportDto] variableReports:obj"
)
SCHEMAS["ProcessInstanceQueryDto"] = _object(
    "processDefinitionId processDefinitionKey businessKey active:bool suspended:bool"
)
SCHEMAS["MigrationExecutionDto"] = _object(
    "migrationPlan:MigrationPlanDto processInstanceIds:list processInstanceQuery:ProcessInstanceQueryDto "
    "skipCustomListeners:bool skipIoMappings:bool"
)
SCHEMAS["ProcessInstanceModificationInstructionDto"] = _object(
    "type activityId activityInstanceId ancestorActivityInstanceId variables:vars"
)
SCHEMAS["ProcessInstanceModificationInstructionDto"]["properties"]["type"]["enum"] = [
    "cancel",
    "startBeforeActivity",
    "startAfterActivity",
]
SCHEMAS["ProcessInstanceModificationDto"] = _object(
    "instructions:[ProcessInstanceModificationInstructionDto] annotation skipCustomListeners:bool skipIoMappings:bool"
)
_BATCH = (
    "id type totalJobs:int jobsCreated:int batchJobsPerSeed:int invocationsPerBatchJob:int seedJobDefinitionId "
    "monitorJobDefinitionId batchJobDefinitionId suspended:bool tenantId createUserId startTime:date "
    "executionStartTime:date"
)
SCHEMAS["BatchDto"] = _object(_BATCH)
SCHEMAS["BatchStatisticsDto"] = _object(f"{_BATCH} remainingJobs:int completedJobs:int failedJobs:int")
