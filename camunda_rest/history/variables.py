"""/engine-rest/history/variable-instance: the variables of running and ended instances."""

from __future__ import annotations

import re

from rest_framework.response import Response

from processes import selectors
from processes.models import ProcessInstance

from ..base import CamundaView
from ..errors import CamundaError
from ..variables import camunda_date, to_typed
from .query import (
    HistoryQuery,
    digits,
    id_list,
    like_pattern,
)


def _variables(request, params: dict) -> list[dict]:
    """Each variable an instance holds (its last value; ended instances keep theirs)."""
    get = params.get
    instances = selectors.instances_visible_to(request.user).order_by("pk")
    if get("processInstanceId"):
        instances = instances.filter(pk=digits(get("processInstanceId")))
    if get("processInstanceIdIn"):
        instances = instances.filter(pk__in=id_list(get("processInstanceIdIn")))
    if get("processDefinitionId"):
        instances = instances.filter(definition_id=digits(get("processDefinitionId")))
    if get("processDefinitionKey"):
        instances = instances.filter(definition__key=get("processDefinitionKey"))
    name, name_like = get("variableName"), get("variableNameLike")
    if name:
        instances = instances.filter(variables__has_key=name)
    pattern = re.compile(like_pattern(name_like)) if name_like else None
    rows = []
    for instance in instances:
        for variable, value in sorted((instance.variables or {}).items()):
            if (name and variable != name) or (pattern and not pattern.match(variable)):
                continue
            if "variableValue" in params and not _same_value(value, get("variableValue")):
                continue
            rows.append(_variable_dto(instance, variable, value))
    order = get("sortBy") or "instanceId"
    if order not in ("instanceId", "variableName"):
        raise CamundaError(f"Cannot set query parameter 'sortBy' to value '{order}'")
    field = "processInstanceId" if order == "instanceId" else "name"
    rows.sort(
        key=lambda r: int(r[field]) if field == "processInstanceId" else r[field], reverse=get("sortOrder") == "desc"
    )
    return rows


def _same_value(value, wanted) -> bool:
    """``variableValue`` as a query string carries text: 30 matches "30", true matches "true"."""
    if value == wanted:
        return True
    text = str(value).lower() if isinstance(value, bool) else str(value)
    return text == str(wanted)


def _variable_dto(instance: ProcessInstance, name: str, value) -> dict:
    return {
        "id": f"{instance.pk}:{name}",
        "name": name,
        **to_typed(value),
        "processDefinitionKey": instance.definition.key,
        "processDefinitionId": str(instance.definition_id),
        "processInstanceId": str(instance.pk),
        "executionId": str(instance.pk),
        "activityInstanceId": str(instance.pk),
        "caseDefinitionKey": None,
        "caseDefinitionId": None,
        "caseInstanceId": None,
        "caseExecutionId": None,
        "taskId": None,
        "tenantId": None,
        "errorMessage": None,
        "state": "CREATED",
        "createTime": camunda_date(instance.started_at),
        "removalTime": None,
        "rootProcessInstanceId": str(instance.pk),
    }


VariableInstances = HistoryQuery.of(_variables)


class VariableInstanceDetail(CamundaView):
    def get(self, request, variable_id):
        instance_id, _, name = variable_id.partition(":")
        rows = _variables(request, {"processInstanceId": instance_id, "variableName": name}) if name else []
        if not rows:
            raise CamundaError(f"Historic variable instance with Id '{variable_id}' does not exist.", status=404)
        return Response(rows[0])
