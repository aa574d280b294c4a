"""/engine-rest/history/process-instance: running and ended instances with their state."""

from __future__ import annotations

from django.db.models import OuterRef, Subquery
from rest_framework.response import Response

from processes import selectors
from processes.choices import HistoryKind
from processes.models import HistoryEvent, ProcessInstance

from ..base import CamundaView, flag
from ..errors import CamundaError
from ..variables import camunda_date
from .query import (
    STATE,
    STATE_FILTER,
    HistoryQuery,
    date_filtered,
    digits,
    id_list,
    like_pattern,
    millis,
    sorted_by,
)


def instance_rows(request, params: dict):
    instances = selectors.instances_visible_to(request.user).annotate(
        delete_reason=Subquery(
            HistoryEvent.objects.filter(instance=OuterRef("pk"), kind=HistoryKind.INSTANCE_CANCELLED).values(
                "data__reason"
            )[:1]
        ),
        start_activity=Subquery(
            HistoryEvent.objects.filter(
                instance=OuterRef("pk"), kind=HistoryKind.STEP_COMPLETED, element_type__endswith="StartEvent"
            )
            .order_by("pk")
            .values("element_id")[:1]
        ),
    )
    get = params.get
    if get("processInstanceId"):
        instances = instances.filter(pk=digits(get("processInstanceId")))
    if get("processInstanceIds"):
        instances = instances.filter(pk__in=id_list(get("processInstanceIds")))
    if get("processDefinitionId"):
        instances = instances.filter(definition_id=digits(get("processDefinitionId")))
    if get("processDefinitionKey"):
        instances = instances.filter(definition__key=get("processDefinitionKey"))
    if get("processDefinitionKeyIn"):
        keys = get("processDefinitionKeyIn")
        instances = instances.filter(definition__key__in=keys if isinstance(keys, list) else keys.split(","))
    if get("processDefinitionName"):
        instances = instances.filter(definition__name=get("processDefinitionName"))
    if get("processInstanceBusinessKey"):
        instances = instances.filter(business_key=get("processInstanceBusinessKey"))
    if get("processInstanceBusinessKeyLike"):
        instances = instances.filter(business_key__regex=like_pattern(get("processInstanceBusinessKeyLike")))
    if get("startedBy"):
        instances = instances.filter(started_by__username=get("startedBy"))
    if flag(get("finished")):
        instances = instances.filter(ended_at__isnull=False)
    if flag(get("unfinished")):
        instances = instances.filter(ended_at__isnull=True)
    if flag(get("withIncidents")):
        instances = instances.filter(incidents__resolved_at__isnull=True).distinct()
    states = [s for name, group in STATE_FILTER.items() if flag(get(name)) for s in group]
    if states:
        instances = instances.filter(status__in=states)
    instances = date_filtered(
        instances,
        params,
        {
            "startedBefore": "started_at__lte",
            "startedAfter": "started_at__gte",
            "finishedBefore": "ended_at__lte",
            "finishedAfter": "ended_at__gte",
        },
    )
    return sorted_by(
        instances,
        params,
        {
            "instanceId": "pk",
            "definitionId": "definition_id",
            "definitionKey": "definition__key",
            "definitionName": "definition__name",
            "definitionVersion": "definition__version",
            "businessKey": "business_key",
            "startTime": "started_at",
            "endTime": "ended_at",
        },
        "instanceId",
    )


def historic_instance_dto(instance: ProcessInstance) -> dict:
    definition = instance.definition
    return {
        "id": str(instance.pk),
        "rootProcessInstanceId": str(instance.pk),
        "superProcessInstanceId": None,
        "superCaseInstanceId": None,
        "caseInstanceId": None,
        "processDefinitionName": definition.name or None,
        "processDefinitionKey": definition.key,
        "processDefinitionVersion": definition.version,
        "processDefinitionId": str(definition.pk),
        "businessKey": instance.business_key or None,
        "startTime": camunda_date(instance.started_at),
        "endTime": camunda_date(instance.ended_at),
        "removalTime": None,
        "durationInMillis": millis(instance.started_at, instance.ended_at),
        "startUserId": instance.started_by.get_username() if instance.started_by_id else None,
        "startActivityId": getattr(instance, "start_activity", None),
        "deleteReason": getattr(instance, "delete_reason", None),
        "tenantId": None,
        "state": STATE.get(instance.status, "ACTIVE"),
        "restartedProcessInstanceId": None,
    }


ProcessInstances = HistoryQuery.of(instance_rows, historic_instance_dto)


class ProcessInstanceDetail(CamundaView):
    def get(self, request, instance_id):
        found = instance_rows(request, {"processInstanceId": instance_id}).first()
        if found is None:
            raise CamundaError(f"Historic process instance with id {instance_id} does not exist", status=404)
        return Response(historic_instance_dto(found))
