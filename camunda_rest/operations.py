"""/engine-rest migration, modification, batch and history clean-up, in Camunda 7's shapes,
over the services /api/v1 uses (processes.services: migration, modification, batches)."""

from __future__ import annotations

from django.conf import settings
from rest_framework.response import Response

from processes import selectors
from processes import services as process_services
from processes.choices import BatchKind, BatchStatus, InstanceStatus
from processes.engine.migration import Instruction as MigrationInstruction
from processes.exceptions import MigrationInvalid
from processes.models import Batch, ProcessDefinition
from processes.services import batches, retention
from processes.services.modification import Instruction as ModificationInstruction

from .base import CamundaView, flag, page
from .errors import CamundaError
from .jobs import job_dto
from .process_instances import _instance, _may_manage
from .variables import camunda_date, from_typed_map

MANAGE = "instances:manage"
BATCH_TYPES = {
    BatchKind.MIGRATE: "instance-migration",
    BatchKind.CANCEL: "instance-deletion",
    BatchKind.DELETE: "historic-instance-deletion",
    BatchKind.SUSPEND: "instance-update-suspension-state",
    BatchKind.RESUME: "instance-update-suspension-state",
    BatchKind.SET_VARIABLES: "set-variables",
    BatchKind.RETRY_INCIDENTS: "set-job-retries",
}
MODIFICATION_TYPES = {"cancel": "cancel", "startBeforeActivity": "start_before", "startAfterActivity": "start_after"}


def _body(request) -> dict:
    """The JSON object a command takes (another JSON value is Camunda's 400, not a 500)."""
    body = request.data or {}
    if not isinstance(body, dict):
        raise CamundaError("The request body must be a JSON object")
    return body


def _digits(value, field: str) -> str | None:
    if value in (None, ""):
        return None
    if not str(value).isdigit():
        raise CamundaError(f"{field}: no process definition with id {value}")
    return str(value)


def _definition(request, definition_id, field: str) -> ProcessDefinition:
    found = None
    if str(definition_id or "").isdigit():
        found = selectors.definitions_visible_to(request.user).filter(pk=definition_id).first()
    if found is None:
        raise CamundaError(f"{field}: no process definition with id {definition_id}", status=400)
    if not selectors.user_can_manage_definition(request.user, found):
        raise CamundaError(f"You may not migrate instances of '{found.key}'", status=403, type="AuthorizationException")
    return found


def plan_dto(plan: process_services.MigrationPlan) -> dict:
    return {
        "sourceProcessDefinitionId": str(plan.source.pk),
        "targetProcessDefinitionId": str(plan.target.pk),
        "instructions": [_instruction_dto(i) for i in plan.instructions],
        "variables": None,
    }


def _instruction_dto(item: MigrationInstruction) -> dict:
    return {
        "sourceActivityIds": [item.source],
        "targetActivityIds": [item.target],
        "updateEventTrigger": item.update_event_trigger,
    }


def _plan(request, body) -> process_services.MigrationPlan:
    if not isinstance(body, dict):
        raise CamundaError("migrationPlan: a JSON object is required")
    plan = process_services.MigrationPlan(
        _definition(request, body.get("sourceProcessDefinitionId"), "sourceProcessDefinitionId"),
        _definition(request, body.get("targetProcessDefinitionId"), "targetProcessDefinitionId"),
    )
    for index, item in enumerate(body.get("instructions") or []):
        if not isinstance(item, dict):
            raise CamundaError(f"instructions[{index}]: a JSON object is required")
        sources, targets = item.get("sourceActivityIds") or [], item.get("targetActivityIds") or []
        if len(sources) != 1 or len(targets) != 1:
            raise CamundaError(f"instructions[{index}]: exactly one source and one target activity id are required")
        plan.instructions.append(
            MigrationInstruction(str(sources[0]), str(targets[0]), bool(item.get("updateEventTrigger")))
        )
    return plan


def _selection(request, body: dict) -> list[int]:
    ids = body.get("processInstanceIds") or []
    query = body.get("processInstanceQuery")
    if not isinstance(ids, list):
        raise CamundaError("processInstanceIds: a list of ids is required")
    if not ids and not query:
        raise CamundaError("processInstanceIds or processInstanceQuery is required")
    selected: list[int] = []
    if ids:
        wanted = [int(i) for i in ids if str(i).isdigit()]
        visible = set(selectors.instances_visible_to(request.user).filter(pk__in=wanted).values_list("pk", flat=True))
        unknown = [str(i) for i in ids if not str(i).isdigit() or int(i) not in visible]
        if unknown:
            raise CamundaError(f"Process instance with id {', '.join(unknown[:10])} does not exist")
        selected += wanted
    if query and not isinstance(query, dict):
        raise CamundaError("processInstanceQuery: a JSON object is required")
    if query:
        status = None
        if flag(query.get("suspended")):
            status = InstanceStatus.SUSPENDED
        elif flag(query.get("active")):
            status = InstanceStatus.RUNNING
        selected += selectors.instance_ids_matching(
            request.user,
            {
                "definition_id": _digits(query.get("processDefinitionId"), "processInstanceQuery.processDefinitionId"),
                "process_key": query.get("processDefinitionKey"),
                "business_key": query.get("businessKey"),
                "status": status,
            },
        )
    return list(dict.fromkeys(selected))


def _migrating_exception(exc: MigrationInvalid) -> Response:
    """Camunda's MigratingProcessInstanceValidationException, one report per instance."""
    details = exc.details
    if details["plan"]:
        return Response(
            {
                "type": "MigrationPlanValidationException",
                "message": exc.message,
                "validationReport": {"instructionReports": _instruction_reports(details["plan"])},
            },
            status=400,
        )
    return Response(
        {
            "type": "MigratingProcessInstanceValidationException",
            "message": exc.message,
            "validationReport": [
                {"processInstanceId": instance_id, "failures": [f"{p['element_id']}: {p['message']}" for p in problems]}
                for instance_id, problems in details["instances"].items()
            ],
        },
        status=400,
    )


def _instruction_reports(problems: list[dict]) -> list[dict]:
    return [{"instruction": {"sourceActivityIds": [p["element_id"]]}, "failures": [p["message"]]} for p in problems]


class MigrationGenerate(CamundaView):
    action_scopes = {"*": MANAGE}

    def post(self, request):
        body = _body(request)
        source = _definition(request, body.get("sourceProcessDefinitionId"), "sourceProcessDefinitionId")
        target = _definition(request, body.get("targetProcessDefinitionId"), "targetProcessDefinitionId")
        plan = process_services.migration_plan_generate(
            source=source, target=target, update_event_triggers=bool(flag(body.get("updateEventTriggers")))
        )
        return Response(plan_dto(plan))


class MigrationValidate(CamundaView):
    action_scopes = {"*": MANAGE}

    def post(self, request):
        plan = _plan(request, _body(request))
        return Response(
            {
                "instructionReports": _instruction_reports(process_services.migration_plan_problems(plan)),
                "variableReports": {},
            }
        )


class MigrationExecute(CamundaView):
    action_scopes = {"*": MANAGE}
    run_async = False

    def post(self, request):
        body = _body(request)
        plan = _plan(request, body.get("migrationPlan"))
        ids = _selection(request, body)
        try:
            if self.run_async:
                batch = batches.batch_create(
                    kind=BatchKind.MIGRATE, instance_ids=ids, params={"plan": plan.as_dict()}, user=request.user
                )
                return Response(batch_dto(batch))
            process_services.migration_execute(plan=plan, instance_ids=ids, user=request.user)
        except MigrationInvalid as exc:
            return _migrating_exception(exc)
        return Response(status=204)


class Modification(CamundaView):
    action_scopes = {"*": MANAGE}

    def post(self, request, instance_id):
        instance = _instance(request, instance_id)
        _may_manage(request, instance)
        body = _body(request)
        instructions = []
        for index, item in enumerate(body.get("instructions") or []):
            if not isinstance(item, dict):
                raise CamundaError(f"instructions[{index}]: a JSON object is required")
            kind = MODIFICATION_TYPES.get(item.get("type"))
            if kind is None:
                raise CamundaError(
                    f"instructions[{index}].type: '{item.get('type')}' is not served here; use cancel, "
                    "startBeforeActivity or startAfterActivity (startTransition: start before the flow's target)"
                )
            instructions.append(
                ModificationInstruction(
                    kind,
                    str(item.get("activityId") or ""),
                    str(item.get("activityInstanceId") or ""),
                    str(item.get("ancestorActivityInstanceId") or ""),
                    from_typed_map(item.get("variables") or {}, f"instructions[{index}].variables"),
                )
            )
        if not instructions:
            raise CamundaError("instructions: at least one is required")
        process_services.instance_modify(
            instance_id=instance.pk,
            instructions=instructions,
            user=request.user,
            reason=str(body.get("annotation") or ""),
        )
        return Response(status=204)


def batch_dto(batch: Batch) -> dict:
    return {
        "id": str(batch.pk),
        "type": BATCH_TYPES[batch.kind],
        "totalJobs": batch.total,
        "jobsCreated": batch.position,
        "batchJobsPerSeed": settings.BPM["BATCH_CHUNK"],
        "invocationsPerBatchJob": 1,
        "seedJobDefinitionId": None,
        "monitorJobDefinitionId": None,
        "batchJobDefinitionId": None,
        "suspended": False,
        "tenantId": None,
        "createUserId": batch.created_by.get_username() if batch.created_by_id else None,
        "startTime": camunda_date(batch.created_at),
        "executionStartTime": camunda_date(batch.created_at),
    }


def batch_statistics_dto(batch: Batch) -> dict:
    return {
        **batch_dto(batch),
        "remainingJobs": batch.total - batch.position,
        "completedJobs": batch.succeeded,
        "failedJobs": batch.failed,
    }


def _batches(request):
    return selectors.batches_visible_to(request.user).filter(status=BatchStatus.RUNNING)


class BatchList(CamundaView):
    count = False
    statistics = False

    def get(self, request):
        found = _batches(request)
        params = request.query_params
        if params.get("batchId"):
            found = found.filter(pk=params["batchId"]) if params["batchId"].isdigit() else found.none()
        if params.get("type"):
            kinds = [k for k, name in BATCH_TYPES.items() if name == params["type"]]
            found = found.filter(kind__in=kinds)
        if self.count:
            return Response({"count": found.count()})
        dto = batch_statistics_dto if self.statistics else batch_dto
        return Response([dto(b) for b in page(request, found)])


class BatchDetail(CamundaView):
    action_scopes = {"delete": MANAGE}

    def _batch(self, request, batch_id) -> Batch:
        found = _batches(request).filter(pk=batch_id).first() if batch_id.isdigit() else None
        if found is None:
            raise CamundaError(f"Batch for id '{batch_id}' cannot be found", status=404)
        return found

    def get(self, request, batch_id):
        return Response(batch_dto(self._batch(request, batch_id)))

    def delete(self, request, batch_id):
        """Camunda deletes a batch to stop it; here it stops and stays listed as cancelled."""
        batches.batch_cancel(batch_id=self._batch(request, batch_id).pk, user=request.user)
        return Response(status=204)


class HistoryCleanup(CamundaView):
    """Schedule a history clean-up job (immediatelyDue, default true: now; else the window's start)."""

    action_scopes = {"*": MANAGE}

    def post(self, request):
        if not (request.user.is_superuser or request.user.has_perm("processes.delete_processinstance")):
            raise CamundaError("Only administrators clean up history", status=403, type="AuthorizationException")
        immediately = flag(request.query_params.get("immediatelyDue"))
        job = retention.history_cleanup_schedule(immediately_due=immediately is not False)
        return Response(job_dto(job))
