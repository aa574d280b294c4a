"""/engine-rest/decision-definition: query deployed decisions, read their XML, evaluate them."""

from __future__ import annotations

from django.db.models import OuterRef, Subquery
from django.http import HttpResponse
from rest_framework.response import Response

from processes import selectors
from processes import services as process_services
from processes.models import DecisionDefinition

from .base import CamundaView, flag, integer, page
from .errors import CamundaError
from .variables import from_typed_map, to_typed_map


def decision_dto(decision: DecisionDefinition) -> dict:
    return {
        "id": str(decision.pk),
        "key": decision.key,
        "category": "http://camunda.org/schema/1.0/dmn",
        "name": decision.name or None,
        "version": decision.version,
        "resource": decision.resource.name,
        "deploymentId": str(decision.deployment_id),
        "decisionRequirementsDefinitionId": None,
        "decisionRequirementsDefinitionKey": None,
        "tenantId": None,
        "versionTag": None,
        "historyTimeToLive": None,
    }


def _decision(request, key: str | None = None, decision_id: str | None = None) -> DecisionDefinition:
    """By key the latest version, by id that version, among the decisions the caller may see."""
    visible = selectors.decisions_visible_to(request.user)
    if key is not None:
        found = visible.filter(key=key).order_by("-version").first()
        what = f"key '{key}'"
    else:
        found = visible.filter(pk=decision_id).first() if str(decision_id).isdigit() else None
        what = f"id '{decision_id}'"
    if found is None:
        raise CamundaError(f"No matching decision definition with {what}", status=404)
    return found


class List(CamundaView):
    count = False

    def get(self, request):
        params = request.query_params
        decisions = selectors.decisions_visible_to(request.user)
        if params.get("decisionDefinitionId"):
            decisions = decisions.filter(pk=integer(params["decisionDefinitionId"], "decisionDefinitionId"))
        if params.get("key"):
            decisions = decisions.filter(key=params["key"])
        if params.get("keyLike"):
            decisions = decisions.filter(key__icontains=params["keyLike"].strip("%"))
        if params.get("name"):
            decisions = decisions.filter(name=params["name"])
        if params.get("version"):
            decisions = decisions.filter(version=integer(params["version"], "version"))
        if params.get("deploymentId"):
            decisions = decisions.filter(deployment_id=integer(params["deploymentId"], "deploymentId"))
        if flag(params.get("latestVersion")):
            latest = DecisionDefinition.objects.filter(key=OuterRef("key")).order_by("-version").values("version")
            decisions = decisions.filter(version=Subquery(latest[:1]))
        sort = {"key": "key", "name": "name", "version": "version", "id": "pk", "deploymentId": "deployment_id"}
        field = sort.get(params.get("sortBy") or "id")
        if field is None:
            raise CamundaError(f"Cannot set query parameter 'sortBy' to value '{params.get('sortBy')}'")
        decisions = decisions.order_by(("-" if params.get("sortOrder") == "desc" else "") + field, "pk")
        if self.count:
            return Response({"count": decisions.count()})
        return Response([decision_dto(d) for d in page(request, decisions)])


class Detail(CamundaView):
    def get(self, request, key=None, decision_id=None):
        return Response(decision_dto(_decision(request, key, decision_id)))


class Xml(CamundaView):
    def get(self, request, key=None, decision_id=None):
        decision = _decision(request, key, decision_id)
        return Response({"id": str(decision.pk), "dmnXml": decision.resource.content})


class Diagram(CamundaView):
    """Camunda answers the DMN file itself."""

    def get(self, request, key=None, decision_id=None):
        decision = _decision(request, key, decision_id)
        return HttpResponse(decision.resource.content, content_type="application/xml")


class Evaluate(CamundaView):
    """The decision's result list, each entry the outputs of one matched rule as typed values."""

    action_scopes = {"post": "read"}

    def post(self, request, key=None, decision_id=None):
        decision = _decision(request, key, decision_id)
        body = request.data if isinstance(request.data, dict) else {}
        variables = from_typed_map(body.get("variables"))
        results = process_services.decision_evaluate(key=decision.key, variables=variables, version=decision.version)
        return Response([to_typed_map(entry) for entry in results])
