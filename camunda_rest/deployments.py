"""/engine-rest/deployment: Camunda Modeler's Deploy button and deployment queries."""

from __future__ import annotations

from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from bpm.exceptions import ApplicationError
from processes import selectors
from processes import services as process_services
from processes.choices import DeploySource
from processes.models import Deployment, ProcessDefinition

from .base import CamundaView, flag, page
from .decisions import decision_dto
from .errors import CamundaError
from .process_definitions import definition_dto
from .variables import camunda_date

DEPLOY = "definitions:deploy"
# form fields of Camunda's multipart deployment that are not files
_FIELDS = {
    "deployment-name",
    "deployment-source",
    "deploy-changed-only",
    "enable-duplicate-filtering",
    "tenant-id",
    "deployment-activation-time",
}


def deployment_dto(deployment: Deployment) -> dict:
    return {
        "id": str(deployment.pk),
        "name": deployment.name or None,
        "source": deployment.source,
        "deploymentTime": camunda_date(deployment.deployed_at),
        "tenantId": None,
        "links": [],
    }


def _deployments(user):
    visible = selectors.definitions_visible_to(user).values("deployment_id")
    return Deployment.objects.filter(pk__in=visible)


class Create(CamundaView):
    """POST /deployment/create: multipart as Camunda Modeler sends it, one part per file."""

    parser_classes = [MultiPartParser, FormParser]
    action_scopes = {"*": DEPLOY}

    def post(self, request):
        if not selectors.user_can_deploy(request.user):
            raise CamundaError("Deploying needs the Process Designer role", status=403, type="AuthorizationException")
        files = [(upload.name or name, upload.read()) for name, upload in request.FILES.items() if name not in _FIELDS]
        if not files:
            raise CamundaError("No deployment resources contained in the form upload")
        name = request.data.get("deployment-name") or ""
        duplicate_filtering = flag(request.data.get("enable-duplicate-filtering")) or flag(
            request.data.get("deploy-changed-only")
        )
        try:
            result = process_services.definition_deploy(
                files=files, user=request.user, source=DeploySource.API, name=name
            )
        except ApplicationError as exc:
            # Camunda answers a parse problem with ParseException and the details per resource
            details = exc.details if isinstance(exc.details, list) else []
            return Response(
                {
                    "type": "ParseException",
                    "message": exc.message,
                    "details": _parse_details(details),
                },
                status=400,
            )
        definitions = result.created or ([] if duplicate_filtering else result.unchanged)
        deployment = result.deployment or (result.unchanged[0].deployment if result.unchanged else None)
        dto = deployment_dto(deployment) if deployment else {"id": None, "name": name or None, "tenantId": None}
        dto.update(
            {
                "deployedProcessDefinitions": {str(d.pk): definition_dto(d) for d in definitions} or None,
                "deployedCaseDefinitions": None,
                "deployedDecisionDefinitions": {str(d.pk): decision_dto(d) for d in result.decisions_created} or None,
                "deployedDecisionRequirementsDefinitions": None,
            }
        )
        return Response(dto)


def _parse_details(problems: list) -> dict:
    by_file: dict[str, dict] = {}
    for problem in problems:
        if not isinstance(problem, dict):
            continue
        entry = by_file.setdefault(problem.get("file") or "deployment", {"errors": [], "warnings": []})
        entry["errors"].append(
            {
                "message": problem.get("message") or "",
                "line": problem.get("line"),
                "column": None,
                "mainElementId": problem.get("element_id") or None,
                "elementIds": [problem["element_id"]] if problem.get("element_id") else [],
            }
        )
    return by_file


class List(CamundaView):
    count = False

    def get(self, request):
        params = request.query_params
        deployments = _deployments(request.user).order_by("deployed_at", "id")
        if params.get("id"):
            deployments = deployments.filter(pk=params["id"] if params["id"].isdigit() else -1)
        if params.get("name"):
            deployments = deployments.filter(name=params["name"])
        if params.get("nameLike"):
            deployments = deployments.filter(name__icontains=params["nameLike"].strip("%"))
        if params.get("source"):
            deployments = deployments.filter(source=params["source"])
        if self.count:
            return Response({"count": deployments.count()})
        return Response([deployment_dto(d) for d in page(request, deployments)])


def _deployment(request, deployment_id: str) -> Deployment:
    found = _deployments(request.user).filter(pk=deployment_id if deployment_id.isdigit() else -1).first()
    if found is None:
        raise CamundaError(f"Deployment with id '{deployment_id}' does not exist", status=404)
    return found


class Detail(CamundaView):
    action_scopes = {"*": DEPLOY}

    def get(self, request, deployment_id):
        return Response(deployment_dto(_deployment(request, deployment_id)))

    def delete(self, request, deployment_id):
        """Delete a deployment; with ``cascade=true`` (administrators) its instances go too."""
        deployment = _deployment(request, deployment_id)
        if not selectors.user_can_deploy(request.user):
            raise CamundaError("Deleting needs the Process Designer role", status=403, type="AuthorizationException")
        cascade = flag(request.query_params.get("cascade")) or False
        if cascade and not request.user.is_superuser:
            raise CamundaError(
                "Deleting a deployment with its instances needs an administrator",
                status=403,
                type="AuthorizationException",
            )
        process_services.deployment_delete(deployment=deployment, cascade=cascade)
        return Response(status=204)


class Resources(CamundaView):
    def get(self, request, deployment_id):
        deployment = _deployment(request, deployment_id)
        seen = {}
        for definition in ProcessDefinition.objects.filter(deployment=deployment).select_related("resource"):
            seen[definition.resource_id] = definition.resource
        return Response([{"id": str(r.pk), "name": r.name, "deploymentId": str(deployment.pk)} for r in seen.values()])
