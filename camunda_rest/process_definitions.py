"""/engine-rest/process-definition: query, XML, start (and submit the start form)."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Max
from rest_framework.response import Response

from processes import selectors
from processes import services as process_services
from processes.forms import clean_start_form
from processes.models import ProcessDefinition

from .base import CamundaView, flag, integer, page
from .errors import CamundaError
from .variables import form_field_typed, from_typed_map, to_typed_map

START = "instances:start"


def definition_dto(definition: ProcessDefinition) -> dict:
    return {
        "id": str(definition.pk),
        "key": definition.key,
        "category": "http://bpmn.io/schema/bpmn",
        "description": None,
        "name": definition.name or None,
        "version": definition.version,
        "resource": definition.resource.name if definition.resource_id else None,
        "deploymentId": str(definition.deployment_id),
        "diagram": None,
        "suspended": definition.is_suspended,
        "tenantId": None,
        "versionTag": definition.version_tag or None,
        "historyTimeToLive": definition.history_ttl_days,
        "startableInTasklist": True,
    }


def instance_dto(instance, variables: dict | None = None) -> dict:
    dto = {
        "links": [],
        "id": str(instance.pk),
        "definitionId": str(instance.definition_id),
        "definitionKey": instance.definition.key,
        "businessKey": instance.business_key or None,
        "caseInstanceId": None,
        "ended": instance.status not in ("running", "suspended"),
        "suspended": instance.status == "suspended",
        "tenantId": None,
    }
    if variables is not None:
        dto["variables"] = to_typed_map(variables)
    return dto


def resolve_definition(request, key: str | None = None, definition_id: str | None = None) -> ProcessDefinition:
    """By key: the active version (Camunda: the latest); by id: that version."""
    visible = selectors.definitions_visible_to(request.user).select_related("resource")
    if key is not None:
        found = visible.filter(key=key, is_active=True).first()
        what = f"key '{key}'"
    else:
        found = visible.filter(pk=definition_id).first() if str(definition_id).isdigit() else None
        what = f"id '{definition_id}'"
    if found is None:
        raise CamundaError(f"No matching process definition with {what}", status=404)
    return found


class List(CamundaView):
    count = False

    def get(self, request):
        params = request.query_params
        definitions = selectors.definitions_visible_to(request.user).select_related("resource")
        if params.get("key"):
            definitions = definitions.filter(key=params["key"])
        if params.get("keysIn"):
            definitions = definitions.filter(key__in=params["keysIn"].split(","))
        if params.get("keyLike"):
            definitions = definitions.filter(key__icontains=params["keyLike"].strip("%"))
        if params.get("name"):
            definitions = definitions.filter(name=params["name"])
        if params.get("nameLike"):
            definitions = definitions.filter(name__icontains=params["nameLike"].strip("%"))
        if params.get("version"):
            definitions = definitions.filter(version=params["version"] if params["version"].isdigit() else -1)
        if params.get("deploymentId"):
            definitions = definitions.filter(
                deployment_id=params["deploymentId"] if params["deploymentId"].isdigit() else -1
            )
        if flag(params.get("latestVersion")):
            latest = definitions.values("key").annotate(top=Max("version"))
            pairs = {(row["key"], row["top"]) for row in latest}
            definitions = [d for d in definitions.order_by("key") if (d.key, d.version) in pairs]
        else:
            ordering = {"version": "version", "key": "key", "name": "name", "id": "id"}.get(params.get("sortBy"), "id")
            definitions = definitions.order_by(("-" if params.get("sortOrder") == "desc" else "") + ordering)
        if self.count:
            return Response({"count": len(definitions) if isinstance(definitions, list) else definitions.count()})
        return Response([definition_dto(d) for d in page(request, definitions)])


def _versions(request, key: str | None, definition_id: str | None) -> list[ProcessDefinition]:
    """By key every version of it (the /key/{key} form of a command), by id that version."""
    if key is None:
        return [resolve_definition(request, None, definition_id)]
    versions = list(selectors.definitions_visible_to(request.user).filter(key=key).order_by("version"))
    if not versions:
        raise CamundaError(f"No matching process definition with key '{key}'", status=404)
    return versions


class Detail(CamundaView):
    action_scopes = {"delete": "definitions:deploy"}

    def get(self, request, key=None, definition_id=None):
        return Response(definition_dto(resolve_definition(request, key, definition_id)))

    def delete(self, request, key=None, definition_id=None):
        """Delete a version (by id; by key: every version); ``cascade=true`` (administrators) its
        instances too."""
        if not selectors.user_can_deploy(request.user):
            raise CamundaError("Deleting needs the Process Designer role", status=403, type="AuthorizationException")
        cascade = flag(request.query_params.get("cascade")) or False
        if cascade and not request.user.is_superuser:
            raise CamundaError("cascade=true is for administrators", status=403, type="AuthorizationException")
        versions = _versions(request, key, definition_id)
        with transaction.atomic():
            for version in versions:
                process_services.definition_delete(definition=version, cascade=cascade)
        return Response(status=204)


class Xml(CamundaView):
    def get(self, request, key=None, definition_id=None):
        definition = resolve_definition(request, key, definition_id)
        return Response({"id": str(definition.pk), "bpmn20Xml": definition.xml})


class Start(CamundaView):
    """POST /process-definition/{id|key/{key}}/start and /submit-form."""

    form = False
    action_scopes = {"*": START}

    def post(self, request, key=None, definition_id=None):
        definition = resolve_definition(request, key, definition_id)
        if not selectors.user_can_start(request.user, definition):
            raise CamundaError(
                f"You may not start process '{definition.key}'", status=403, type="AuthorizationException"
            )
        body = request.data if isinstance(request.data, dict) else {}
        variables = from_typed_map(body.get("variables"))
        if self.form:
            variables = clean_start_form(selectors.start_form_fields(definition), variables)
        instance = process_services.instance_start(
            definition=definition, variables=variables, business_key=body.get("businessKey") or "", user=request.user
        )
        returned = instance.variables if body.get("withVariablesInReturn") else None
        return Response(instance_dto(instance, returned))


class FormVariables(CamundaView):
    def get(self, request, key=None, definition_id=None):
        definition = resolve_definition(request, key, definition_id)
        names = request.query_params.get("variableNames")
        fields = selectors.start_form_fields(definition)
        wanted = set(names.split(",")) if names else None
        return Response(
            {f["id"]: form_field_typed(f, f.get("defaultValue")) for f in fields if wanted is None or f["id"] in wanted}
        )


class Suspended(CamundaView):
    """PUT /{id}/suspended or /key/{key}/suspended: ``suspended`` and ``includeProcessInstances``."""

    action_scopes = {"*": "instances:manage"}

    def put(self, request, key=None, definition_id=None):
        body = request.data if isinstance(request.data, dict) else {}
        suspend = flag(body.get("suspended"))
        if suspend is None:
            raise CamundaError("'suspended' (true or false) is required")
        versions = _versions(request, key, definition_id)
        if not all(selectors.user_can_manage_definition(request.user, v) for v in versions):
            raise CamundaError("Suspending needs ownership of the process", status=403, type="AuthorizationException")
        change = process_services.definition_suspend if suspend else process_services.definition_resume
        for version in versions:
            change(
                definition=version, include_instances=bool(flag(body.get("includeProcessInstances"))), user=request.user
            )
        return Response(status=204)


class HistoryTimeToLive(CamundaView):
    """PUT /{id}/history-time-to-live or /key/{key}/history-time-to-live: ``historyTimeToLive``
    in days (null: the server's default)."""

    action_scopes = {"*": "instances:manage"}

    def put(self, request, key=None, definition_id=None):
        body = request.data if isinstance(request.data, dict) else {}
        days = integer(body.get("historyTimeToLive"), "historyTimeToLive", None)
        definition = resolve_definition(request, key, definition_id)  # by key: the active version
        if not selectors.user_can_manage_definition(request.user, definition):
            raise CamundaError("Changing it needs ownership of the process", status=403, type="AuthorizationException")
        process_services.definition_set_history_ttl(definition=definition, days=days, user=request.user)
        return Response(status=204)
