"""/engine-rest/message and /signal: correlate a message, broadcast a signal."""

from __future__ import annotations

from django.db.models import Max
from rest_framework.response import Response

from processes import selectors
from processes import services as process_services
from processes.exceptions import AmbiguousCorrelation, NothingWaitsForMessage
from processes.models import ProcessInstance

from .base import CamundaView
from .errors import CamundaError
from .process_definitions import instance_dto
from .variables import from_typed_map, to_typed_map


def _may_change(request) -> None:
    if not selectors.user_can_change_instances(request.user):
        raise CamundaError(
            "Correlating messages and sending signals needs the right to change instances",
            status=403,
            type="AuthorizationException",
        )


class Correlate(CamundaView):
    action_scopes = {"*": "messages:correlate"}

    def post(self, request):
        _may_change(request)
        body = request.data if isinstance(request.data, dict) else {}
        name = body.get("messageName")
        if not name:
            raise CamundaError("No message name supplied")
        before = 0  # the newest instance before: tells started instances from resumed ones in the result
        if body.get("resultEnabled"):
            before = ProcessInstance.objects.aggregate(top=Max("pk"))["top"] or 0
        try:
            instances = process_services.message_correlate(
                message_name=name,
                business_key=body.get("businessKey") or "",
                correlation_keys=from_typed_map(body.get("correlationKeys"), "correlationKeys") or None,
                local_correlation_keys=from_typed_map(body.get("localCorrelationKeys"), "localCorrelationKeys") or None,
                payload={
                    **from_typed_map(body.get("processVariables"), "processVariables"),
                    **from_typed_map(body.get("processVariablesLocal"), "processVariablesLocal"),
                },
                all_matches=bool(body.get("all")),
                user=request.user,
            )
        except (NothingWaitsForMessage, AmbiguousCorrelation) as exc:
            raise CamundaError(f"Cannot correlate message '{name}': {exc.message}", type="RestException") from None
        if not body.get("resultEnabled"):
            return Response(status=204)
        results = []
        for instance in instances:
            started = instance.pk > before
            result = {
                "resultType": "ProcessDefinition" if started else "Execution",
                "processInstance": instance_dto(instance),
                "execution": None
                if started
                else {
                    "id": str(instance.pk),
                    "processInstanceId": str(instance.pk),
                    "ended": instance_dto(instance)["ended"],
                    "tenantId": None,
                },
            }
            if body.get("variablesInResultEnabled"):
                result["variables"] = to_typed_map(instance.variables)
            results.append(result)
        return Response(results)


class Signal(CamundaView):
    action_scopes = {"*": "signals:send"}

    def post(self, request):
        _may_change(request)
        body = request.data if isinstance(request.data, dict) else {}
        if not body.get("name"):
            raise CamundaError("No signal name given")
        process_services.signal_broadcast(
            signal_name=body["name"], payload=from_typed_map(body.get("variables")), user=request.user
        )
        return Response(status=204)
