"""/engine-rest/process-instance: query, delete, variables, suspension, activity instances."""

from __future__ import annotations

import re

from django.db.models import Q
from rest_framework.response import Response

from processes import selectors
from processes import services as process_services
from processes.choices import InstanceStatus
from processes.models import ProcessInstance

from .base import CamundaView, flag, page
from .errors import CamundaError
from .history import activity_type
from .process_definitions import instance_dto
from .variables import from_typed, from_typed_map, to_typed, to_typed_map

MANAGE = "instances:manage"
_OPEN = (InstanceStatus.RUNNING, InstanceStatus.SUSPENDED)
_OPERATORS = {"eq", "neq", "gt", "gteq", "lt", "lteq", "like"}


def _variable_filter(expression: str) -> Q:
    """Camunda's ``variables=name_op_value,...`` (eq, neq, gt, gteq, lt, lteq, like) as a
    database condition on the instance's variables (numbers and booleans compare as such)."""
    condition = Q()
    for part in filter(None, expression.split(",")):
        words = part.split("_")
        op_at = next((i for i in range(1, len(words)) if words[i] in _OPERATORS), None)
        if op_at is None:
            raise CamundaError(f"Invalid variable comparison '{part}': use name_operator_value")
        name, op, text = "_".join(words[:op_at]), words[op_at], "_".join(words[op_at + 1 :])
        if not name.isidentifier():
            raise CamundaError(f"Invalid variable name '{name}' in '{part}'")
        field = f"variables__{name}"
        if op == "like":
            pattern = "^" + re.escape(text).replace("%", ".*").replace("_", ".") + "$"
            condition &= Q(**{f"{field}__regex": pattern})
            continue
        value = _json_value(text)
        same = Q(**{field: value}) | Q(**{field: text})  # "30" matches 30 and "30"
        if op == "eq":
            condition &= same
        elif op == "neq":
            condition &= Q(**{"variables__has_key": name}) & ~same
        else:
            condition &= Q(**{f"{field}__{_LOOKUPS[op]}": value})
    return condition


_LOOKUPS = {"gt": "gt", "gteq": "gte", "lt": "lt", "lteq": "lte"}


def _json_value(text: str):
    """The value of a comparison as the variable would hold it: a number, a boolean or text."""
    if text in ("true", "false"):
        return text == "true"
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


def _instance(request, instance_id: str) -> ProcessInstance:
    found = (
        selectors.instances_visible_to(request.user).filter(pk=instance_id).first() if instance_id.isdigit() else None
    )
    if found is None:
        raise CamundaError(f"Process instance with id {instance_id} does not exist", status=404)
    return found


def _may_manage(request, instance: ProcessInstance) -> None:
    if not selectors.user_can_manage_instance(request.user, instance):
        raise CamundaError(
            f"You may not change process instance {instance.pk}", status=403, type="AuthorizationException"
        )


class List(CamundaView):
    count = False

    def get(self, request):
        params = request.query_params
        instances = selectors.instances_visible_to(request.user).filter(status__in=_OPEN).order_by("id")
        if params.get("processDefinitionKey"):
            instances = instances.filter(definition__key=params["processDefinitionKey"])
        if params.get("processDefinitionId"):
            value = params["processDefinitionId"]
            instances = instances.filter(definition_id=value if value.isdigit() else -1)
        if params.get("businessKey"):
            instances = instances.filter(business_key=params["businessKey"])
        if params.get("businessKeyLike"):
            instances = instances.filter(business_key__icontains=params["businessKeyLike"].strip("%"))
        if params.get("processInstanceIds"):
            ids = [i for i in params["processInstanceIds"].split(",") if i.isdigit()]
            instances = instances.filter(pk__in=ids)
        if flag(params.get("active")):
            instances = instances.filter(status=InstanceStatus.RUNNING)
        if flag(params.get("suspended")):
            instances = instances.filter(status=InstanceStatus.SUSPENDED)
        if params.get("variables"):
            instances = instances.filter(_variable_filter(params["variables"]))
        if self.count:
            return Response({"count": instances.count()})
        return Response([instance_dto(i) for i in page(request, instances)])


class Detail(CamundaView):
    action_scopes = {"*": MANAGE}

    def get(self, request, instance_id):
        instance = _instance(request, instance_id)
        if instance.status not in _OPEN:
            raise CamundaError(f"Process instance with id {instance_id} does not exist", status=404)
        return Response(instance_dto(instance))

    def delete(self, request, instance_id):
        """Camunda deletes a running instance; here it ends as cancelled and keeps its history."""
        instance = _instance(request, instance_id)
        _may_manage(request, instance)
        if instance.status not in _OPEN:
            raise CamundaError(f"Process instance with id {instance_id} does not exist", status=404)
        reason = request.query_params.get("deleteReason") or "deleted through /engine-rest"
        process_services.instance_cancel(instance_id=instance.pk, user=request.user, reason=reason)
        return Response(status=204)


class Variables(CamundaView):
    action_scopes = {"*": MANAGE}

    def get(self, request, instance_id):
        return Response(to_typed_map(_instance(request, instance_id).variables or {}))

    def post(self, request, instance_id):
        """Modify: ``modifications`` (typed) are set, ``deletions`` removed, in one command."""
        instance = _instance(request, instance_id)
        _may_manage(request, instance)
        body = request.data if isinstance(request.data, dict) else {}
        process_services.instance_set_variables(
            instance_id=instance.pk,
            variables=from_typed_map(body.get("modifications"), "modifications"),
            remove=body.get("deletions") or [],
            user=request.user,
        )
        return Response(status=204)


class Variable(CamundaView):
    action_scopes = {"*": MANAGE}

    def get(self, request, instance_id, name):
        variables = _instance(request, instance_id).variables or {}
        if name not in variables:
            raise CamundaError(f"process instance variable with name {name} does not exist", status=404)
        return Response(to_typed(variables[name]))

    def put(self, request, instance_id, name):
        instance = _instance(request, instance_id)
        _may_manage(request, instance)
        value = from_typed(name, request.data)
        process_services.instance_set_variables(instance_id=instance.pk, variables={name: value}, user=request.user)
        return Response(status=204)

    def delete(self, request, instance_id, name):
        instance = _instance(request, instance_id)
        _may_manage(request, instance)
        process_services.instance_set_variables(instance_id=instance.pk, variables={}, remove=[name], user=request.user)
        return Response(status=204)


class Suspended(CamundaView):
    action_scopes = {"*": MANAGE}

    def put(self, request, instance_id):
        instance = _instance(request, instance_id)
        _may_manage(request, instance)
        suspend = flag((request.data or {}).get("suspended"))
        if suspend is None:
            raise CamundaError("'suspended' (true or false) is required")
        if suspend and instance.status == InstanceStatus.RUNNING:
            process_services.instance_suspend(instance_id=instance.pk, user=request.user)
        elif not suspend and instance.status == InstanceStatus.SUSPENDED:
            process_services.instance_resume(instance_id=instance.pk, user=request.user)
        return Response(status=204)


class ActivityInstances(CamundaView):
    """The instance as a tree: the process at the root, the steps it waits at below."""

    def get(self, request, instance_id):
        instance = _instance(request, instance_id)
        children = [
            {
                "id": f"{step.element_id}:{step.spiff_task_id}",
                "parentActivityInstanceId": str(instance.pk),
                "activityId": step.element_id,
                "activityType": activity_type(step.element_type),
                "processInstanceId": str(instance.pk),
                "processDefinitionId": str(instance.definition_id),
                "childActivityInstances": [],
                "childTransitionInstances": [],
                "executionIds": [str(step.spiff_task_id)],
                "activityName": step.name or None,
                "name": step.name or None,
                "incidentIds": [],
                "incidents": [],
            }
            for step in instance.waiting_steps.all()
            if step.kind not in ("boundary",)
        ]
        return Response(
            {
                "id": str(instance.pk),
                "parentActivityInstanceId": None,
                "activityId": instance.definition.key,
                "activityType": "processDefinition",
                "processInstanceId": str(instance.pk),
                "processDefinitionId": str(instance.definition_id),
                "childActivityInstances": children,
                "childTransitionInstances": [],
                "executionIds": [str(instance.pk)],
                "activityName": instance.definition.name or None,
                "name": instance.definition.name or None,
                "incidentIds": [],
                "incidents": [],
            }
        )
