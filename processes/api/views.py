"""REST API for definitions, instances, messages and signals: parse, call one service, render."""

import datetime

from django.shortcuts import get_object_or_404
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from bpm.exceptions import ApplicationError, InvalidInput
from bpm.files import download_response, drawn_response
from integrations.idempotency import idempotent

from .. import archives, diagram, selectors, services
from ..choices import DeploySource
from ..exceptions import DefinitionNotFound
from ..models import ProcessDefinition, ProcessInstance
from ..search import variable_condition
from . import serializers as s


class DiagramNotDrawn(ApplicationError):
    code = "diagram_missing"
    status = 422


IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description="Retrying with the same key and payload returns the first response and changes nothing "
    "(422 with another payload, 409 while the first is still running).",
)


class DefinitionFilter(filters.FilterSet):
    key = filters.CharFilter()
    name = filters.CharFilter(lookup_expr="icontains")
    is_active = filters.BooleanFilter()

    class Meta:
        model = ProcessDefinition
        fields = ["key", "name", "is_active"]


class DefinitionViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet
):
    """Deployed process definitions (every version), restricted to what the caller may see."""

    lookup_value_regex = r"[0-9]+"  # ids only: anything else is a 404, not a 500
    action_scopes = {
        "create": "definitions:deploy",
        "activate": "definitions:deploy",
        "destroy": "definitions:deploy",
        "suspend": "instances:manage",
        "resume": "instances:manage",
        "history_ttl": "instances:manage",
    }

    filterset_class = DefinitionFilter
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return ProcessDefinition.objects.none()
        return (
            selectors.definitions_visible_to(self.request.user)
            .select_related("deployed_by")
            .order_by("key", "-version")
        )

    def get_serializer_class(self):
        return s.DefinitionDetailSerializer if self.action == "retrieve" else s.DefinitionSerializer

    @extend_schema(
        request={"multipart/form-data": s.DeployInputSerializer},
        responses={201: s.DeployOutputSerializer, 200: s.DeployOutputSerializer},
    )
    def create(self, request):
        """Deploy BPMN (and DMN) files; 201 when something new was deployed, 200 when all was identical."""
        if not selectors.user_can_deploy(request.user):
            raise PermissionDenied("Deploying needs the Process Designer role.")
        data = s.DeployInputSerializer(
            data={"files": request.FILES.getlist("files"), "name": request.data.get("name", "")}
        )
        data.is_valid(raise_exception=True)
        result = services.definition_deploy(
            files=archives.expand_archives([(f.name, f.read()) for f in data.validated_data["files"]]),
            user=request.user,
            source=DeploySource.API,
            name=data.validated_data.get("name", ""),
        )
        result.decision_keys = [f"{d.key} v{d.version}" for d in result.decisions_created]
        code = status.HTTP_201_CREATED if result.changed_anything else status.HTTP_200_OK
        return Response(s.DeployOutputSerializer(result).data, status=code)

    @extend_schema(
        parameters=[OpenApiParameter("cascade", bool, description="Delete its instances too (administrators)")]
    )
    def destroy(self, request, pk=None):
        """Delete this version; 409 while it has instances unless cascade=true (administrators only)."""
        definition = self.get_object()
        if not selectors.user_can_deploy(request.user):
            raise PermissionDenied("Deleting a version needs the Process Designer role.")
        cascade = request.query_params.get("cascade") in ("1", "true")
        if cascade and not request.user.is_superuser:
            raise PermissionDenied("Deleting a version with its instances is for administrators.")
        services.definition_delete(definition=definition, cascade=cascade)
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _suspension(self, request, suspend: bool):
        definition = self.get_object()
        if not selectors.user_can_manage_definition(request.user, definition):
            raise PermissionDenied("Suspending a version needs ownership of the process.")
        data = s.SuspendDefinitionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        change = services.definition_suspend if suspend else services.definition_resume
        change(definition=definition, include_instances=data.validated_data["include_instances"], user=request.user)
        definition.refresh_from_db()
        return Response(s.DefinitionSerializer(definition).data)

    @extend_schema(request=s.HistoryTtlSerializer, responses=s.DefinitionSerializer)
    @action(detail=True, methods=["post"], url_path="history-ttl")
    def history_ttl(self, request, pk=None):
        """How many days ended instances of this version are kept (null: the server's default)."""
        definition = self.get_object()
        if not selectors.user_can_manage_definition(request.user, definition):
            raise PermissionDenied("Setting the history time to live needs ownership of the process.")
        data = s.HistoryTtlSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.definition_set_history_ttl(definition=definition, days=data.validated_data["days"], user=request.user)
        return Response(s.DefinitionSerializer(definition).data)

    @extend_schema(request=s.SuspendDefinitionSerializer, responses=s.DefinitionSerializer)
    @action(detail=True, methods=["post"])
    def suspend(self, request, pk=None):
        """No new instances of this version until resumed; include_instances suspends its running ones too."""
        return self._suspension(request, True)

    @extend_schema(request=s.SuspendDefinitionSerializer, responses=s.DefinitionSerializer)
    @action(detail=True, methods=["post"])
    def resume(self, request, pk=None):
        """Start instances of this version again; include_instances resumes its suspended ones too."""
        return self._suspension(request, False)

    @extend_schema(responses={(200, "application/xml"): str})
    @action(detail=True, methods=["get"])
    def xml(self, request, pk=None):
        """The BPMN XML of this version, exactly as uploaded (as a download)."""
        definition = self.get_object()
        return download_response(definition.xml, filename=f"{definition.key}-v{definition.version}.bpmn")

    @extend_schema(responses={(200, "image/svg+xml"): str})
    @action(detail=True, methods=["get"])
    def diagram(self, request, pk=None):
        """The diagram drawn as SVG from the file's DI (422 when the file has none)."""
        definition = self.get_object()
        try:
            svg = diagram.render_svg(definition.xml)
        except diagram.DiagramMissing as exc:
            raise DiagramNotDrawn(str(exc)) from None
        return drawn_response(svg)

    @extend_schema(responses=s.DefinitionSerializer(many=True))
    @action(detail=False, methods=["get"], url_path=r"keys/(?P<key>[^/]+)/versions")
    def versions(self, request, key=None):
        """Every version of one process key, newest first (404 when the key is unknown or hidden)."""
        rows = self.get_queryset().filter(key=key)
        if not rows.exists():
            raise DefinitionNotFound(f"No process with key '{key}'")
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(s.DefinitionSerializer(page, many=True).data)

    @extend_schema(
        parameters=[OpenApiParameter("other", int, required=True, description="Id of the version to compare with")],
        responses=dict,
    )
    @action(detail=True, methods=["get"])
    def diff(self, request, pk=None):
        """Elements added, removed and changed from version `other` to this one."""
        definition = self.get_object()
        other_id = request.query_params.get("other")
        if not other_id or not other_id.isdigit():
            raise InvalidInput(
                "Give the id of the other version as ?other=", details={"other": ["A definition id is required."]}
            )
        other = get_object_or_404(self.get_queryset(), pk=int(other_id), key=definition.key)
        return Response(selectors.definition_diff(other, definition))

    @extend_schema(request=None, responses=s.DefinitionSerializer)
    @action(detail=True, methods=["post"])
    def activate(self, request, pk=None):
        """Make this version the one new instances start on (revert)."""
        if not selectors.user_can_deploy(request.user):
            raise PermissionDenied("Changing the active version needs the Process Designer role.")
        definition = services.definition_activate(definition=self.get_object(), user=request.user)
        return Response(s.DefinitionSerializer(definition).data)


class UtcDateTimeFilter(filters.IsoDateTimeFilter):
    """ISO 8601 in, UTC to the database (PostgreSQL refuses offsets Python accepts, e.g. +22:30)."""

    def __init__(self, *args, param: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.param = param or self.field_name

    def filter(self, qs, value):
        if value is not None:
            try:
                value = value.astimezone(datetime.UTC)
            except OverflowError:
                raise InvalidInput(
                    "Date out of range", details={self.param: ["Out of range once converted to UTC."]}
                ) from None
        return super().filter(qs, value)


class InstanceFilter(filters.FilterSet):
    status = filters.CharFilter()
    definition_key = filters.CharFilter(field_name="definition__key")
    business_key = filters.CharFilter()
    started_after = UtcDateTimeFilter(field_name="started_at", lookup_expr="gte", param="started_after")
    started_before = UtcDateTimeFilter(field_name="started_at", lookup_expr="lt", param="started_before")
    variable = filters.CharFilter(
        method="filter_variable",
        help_text='name:value, the variable equals the value (JSON: 5, true, "x"; else a string)',
    )

    def filter_variable(self, queryset, name, value):
        return queryset.filter(variable_condition(value))

    class Meta:
        model = ProcessInstance
        fields = ["status", "definition_key", "business_key"]


class InstanceViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Process instances: start, read, complete waiting steps, cancel, history."""

    lookup_value_regex = r"[0-9]+"  # ids only: anything else is a 404, not a 500
    action_scopes = {
        "create": "instances:start",
        "cancel": "instances:manage",
        "complete_step": "tasks:complete",
        "force_complete_step": "instances:manage",
        "suspend": "instances:manage",
        "resume": "instances:manage",
        "history_ttl": "instances:manage",
        "variables": "instances:manage",
    }

    filterset_class = InstanceFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ProcessInstance.objects.none()
        # The engine state is for the engine: no response shows it, and actions reload it locked.
        qs = selectors.instances_visible_to(self.request.user).defer("state")
        if self.action == "retrieve":
            qs = qs.prefetch_related("waiting_steps")
        return qs

    def get_serializer_class(self):
        return s.InstanceDetailSerializer if self.action == "retrieve" else s.InstanceSerializer

    @extend_schema(
        request=s.InstanceStartSerializer,
        responses={201: s.InstanceDetailSerializer},
        parameters=[IDEMPOTENCY_KEY],
        examples=[
            OpenApiExample(
                "A purchase request from the ERP",
                value={"definition_key": "purchase_request", "business_key": "PO-1002", "variables": {"amount": 1500}},
                request_only=True,
            )
        ],
    )
    @idempotent
    def create(self, request):
        """Start an instance by definition key (active version) or definition id, with variables."""
        data = s.InstanceStartSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        visible = selectors.definitions_visible_to(request.user)
        if v.get("definition_id"):
            definition = get_object_or_404(visible, pk=v["definition_id"])
        else:
            definition = get_object_or_404(visible, key=v["definition_key"], is_active=True)
        if not selectors.user_can_start(request.user, definition):
            raise PermissionDenied(
                f"You may not start {definition.key}: an owner grants the start right on the process "
                f"page (Access), or run `manage.py process_access grant {definition.key} start "
                f"--user {request.user.get_username()}`."
            )
        instance = services.instance_start(
            definition=definition, variables=v["variables"], business_key=v["business_key"], user=request.user
        )
        return Response(s.InstanceDetailSerializer(instance).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.CancelSerializer, responses=s.InstanceDetailSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """Cancel an open instance."""
        instance = self.get_object()
        if not selectors.user_can_manage_instance(request.user, instance):
            raise PermissionDenied("Cancelling needs ownership of the process.")
        data = s.CancelSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        instance = services.instance_cancel(
            instance_id=instance.pk, user=request.user, reason=data.validated_data["reason"]
        )
        return Response(s.InstanceDetailSerializer(instance).data)

    @extend_schema(responses=s.HistoryEventSerializer(many=True))
    @action(detail=True, methods=["get"])
    def history(self, request, pk=None):
        """The instance's history, oldest first."""
        events = selectors.instance_history(self.get_object())
        page = self.paginate_queryset(events)
        return self.get_paginated_response(s.HistoryEventSerializer(page, many=True).data)

    @extend_schema(request=s.StepCompleteSerializer, responses=s.InstanceDetailSerializer, parameters=[IDEMPOTENCY_KEY])
    @action(detail=True, methods=["post"], url_path=r"steps/(?P<spiff_task_id>[0-9a-f-]{36})/complete")
    @idempotent
    def complete_step(self, request, pk=None, spiff_task_id=None):
        """Complete a waiting user or manual task under the task rules (candidates, claim,
        four-eyes; an approval is decided, not completed). Other steps answer 409."""
        instance_id = self._visible_instance_id(pk)
        data = s.StepCompleteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        instance = services.step_complete(
            instance_id=instance_id, spiff_task_id=spiff_task_id, data=data.validated_data["data"], user=request.user
        )
        return Response(s.InstanceDetailSerializer(instance).data)

    @extend_schema(request=s.StepForceCompleteSerializer, responses=s.InstanceDetailSerializer)
    @action(detail=True, methods=["post"], url_path=r"steps/(?P<spiff_task_id>[0-9a-f-]{36})/force-complete")
    def force_complete_step(self, request, pk=None, spiff_task_id=None):
        """Administrators only: complete a waiting user, manual or service task without its rules,
        with a reason recorded in the history as a forced completion."""
        instance = self.get_object()
        data = s.StepForceCompleteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        instance = services.instance_force_complete_step(
            instance_id=instance.pk,
            spiff_task_id=spiff_task_id,
            reason=data.validated_data["reason"],
            data=data.validated_data["data"],
            user=request.user,
        )
        return Response(s.InstanceDetailSerializer(instance).data)

    def _visible_instance_id(self, pk) -> int:
        """The id of an instance the caller may see. A caller who sees every instance skips the
        read: the command locks the row anyway and answers 404 when there is none."""
        if not selectors.user_sees_every_instance(self.request.user):
            return self.get_object().pk
        try:
            return int(pk)
        except (TypeError, ValueError):
            raise NotFound("No instance with this id.") from None

    def _manageable(self, request, what: str):
        instance = self.get_object()
        if not selectors.user_can_manage_instance(request.user, instance):
            raise PermissionDenied(f"{what} needs ownership of the process.")
        return instance

    @extend_schema(request=s.SuspendSerializer, responses=s.InstanceDetailSerializer)
    @action(detail=True, methods=["post"])
    def suspend(self, request, pk=None):
        """Pause a running instance: timers wait, steps cannot be completed, messages pass it by."""
        instance = self._manageable(request, "Suspending")
        data = s.SuspendSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        instance = services.instance_suspend(
            instance_id=instance.pk, user=request.user, reason=data.validated_data["reason"]
        )
        return Response(s.InstanceDetailSerializer(instance).data)

    @extend_schema(request=None, responses=s.InstanceDetailSerializer)
    @action(detail=True, methods=["post"])
    def resume(self, request, pk=None):
        """Let a suspended instance go on."""
        instance = self._manageable(request, "Resuming")
        instance = services.instance_resume(instance_id=instance.pk, user=request.user)
        return Response(s.InstanceDetailSerializer(instance).data)

    @extend_schema(request=s.VariablesUpdateSerializer, responses=s.InstanceDetailSerializer)
    @action(detail=True, methods=["patch"])
    def variables(self, request, pk=None):
        """Set or remove variables of an open instance (recorded in its history)."""
        instance = self._manageable(request, "Changing variables")
        data = s.VariablesUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        instance = services.instance_set_variables(
            instance_id=instance.pk,
            variables=data.validated_data["variables"],
            remove=data.validated_data["remove"],
            user=request.user,
        )
        return Response(s.InstanceDetailSerializer(instance).data)


def _require_instance_change(user, what: str) -> None:
    if not selectors.user_can_change_instances(user):
        raise PermissionDenied(f"{what} needs the change instance permission.")


class MessageView(APIView):
    """Correlate a message to waiting instances, or start one on a message start event."""

    action_scopes = {"post": "messages:correlate"}

    @extend_schema(
        request=s.MessageCorrelateSerializer,
        responses=s.InstanceSerializer(many=True),
        parameters=[IDEMPOTENCY_KEY],
        examples=[
            OpenApiExample(
                "Goods received for a purchase order",
                value={
                    "message_name": "goods_received",
                    "business_key": "PO-1001",
                    "message_id": "GRN-2026-0042",
                    "payload": {"quantity": 10},
                },
                request_only=True,
            )
        ],
    )
    @idempotent
    def post(self, request):
        _require_instance_change(request.user, "Correlating messages")
        data = s.MessageCorrelateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        instances = services.message_correlate(
            message_name=v["message_name"],
            business_key=v["business_key"],
            correlation_keys=v["correlation_keys"],
            payload=v["payload"],
            all_matches=v["all"],
            message_id=v["message_id"],
            local_correlation_keys=v["local_correlation_keys"],
            user=request.user,
        )
        return Response(s.InstanceSerializer(instances, many=True).data)


class SignalView(APIView):
    """Broadcast a signal to every instance waiting for it."""

    action_scopes = {"post": "signals:send"}

    @extend_schema(request=s.SignalSerializer, responses=s.InstanceSerializer(many=True))
    def post(self, request):
        _require_instance_change(request.user, "Sending signals")
        data = s.SignalSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        instances = services.signal_broadcast(
            signal_name=data.validated_data["signal_name"], payload=data.validated_data["payload"], user=request.user
        )
        return Response(s.InstanceSerializer(instances, many=True).data)


class DecisionEvaluateView(APIView):
    """Evaluate the latest version of a deployed decision over the variables given: its result
    list, one entry per matched rule (after the hit policy and any aggregation)."""

    action_scopes = {"post": "read"}

    @extend_schema(request=s.DecisionEvaluateSerializer, responses=s.DecisionResultSerializer)
    def post(self, request, key: str):
        if not selectors.decision_visible(request.user, key):
            raise NotFound(f"No deployed decision with key '{key}' that you may see")
        data = s.DecisionEvaluateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        results = services.decision_evaluate(
            key=key, variables=data.validated_data["variables"], version=data.validated_data.get("version")
        )
        return Response({"key": key, "results": results})


class ConditionView(APIView):
    """Start every process whose conditional start event holds over the variables (Camunda's
    condition evaluation); only processes the caller may start are considered."""

    action_scopes = {"post": "instances:start"}

    @extend_schema(request=s.ConditionEvaluateSerializer, responses=s.InstanceSerializer(many=True))
    def post(self, request):
        data = s.ConditionEvaluateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        instances = services.conditions_evaluate(
            variables=data.validated_data["variables"],
            business_key=data.validated_data["business_key"],
            user=request.user,
            may_start=lambda definition: selectors.user_can_start(request.user, definition),
        )
        return Response(s.InstanceSerializer(instances, many=True).data)
