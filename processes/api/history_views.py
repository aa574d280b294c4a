"""/api/v1/operations/: who did what to which instance (Camunda's user operation log), and
/api/v1/history/: activities, decisions, variables and incidents across instances; each with
filters, as JSON pages or a CSV export."""

from __future__ import annotations

import json

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.generics import ListAPIView

from bpm.files import csv_response

from .. import selectors
from ..models import HistoryEvent, Incident
from .serializers import IncidentSerializer


class OperationSerializer(serializers.ModelSerializer):
    user = serializers.CharField(source="actor.username", read_only=True)
    process_key = serializers.CharField(source="instance.definition.key", read_only=True)
    business_key = serializers.CharField(source="instance.business_key", read_only=True)

    class Meta:
        model = HistoryEvent
        fields = ["id", "created_at", "user", "kind", "instance", "process_key", "business_key", "element_id", "data"]


class FiltersSerializer(serializers.Serializer):
    instance = serializers.IntegerField(required=False, min_value=1)
    user = serializers.CharField(required=False, allow_blank=True, default="")
    kind = serializers.ChoiceField(choices=list(selectors.OPERATION_KINDS), required=False, allow_blank=True)
    after = serializers.DateTimeField(required=False)
    before = serializers.DateTimeField(required=False)
    export = serializers.ChoiceField(choices=["csv"], required=False)


class OperationLogView(ListAPIView):
    """Operations on instances you may see, newest first: starts, cancellations, suspensions,
    variable changes, forced steps, reassignments, task changes, retries, job changes, decisions.
    ``export=csv`` answers every matching row as a CSV file."""

    serializer_class = OperationSerializer
    action_scopes = {"get": "read"}

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return HistoryEvent.objects.none()
        filters = FiltersSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        return selectors.operation_log(
            self.request.user,
            instance_id=data.get("instance"),
            username=data.get("user", ""),
            kind=data.get("kind") or "",
            after=data.get("after"),
            before=data.get("before"),
        )

    @extend_schema(
        parameters=[
            OpenApiParameter("instance", int),
            OpenApiParameter("user", str, description="Username of who did it"),
            OpenApiParameter("kind", str, enum=list(selectors.OPERATION_KINDS)),
            OpenApiParameter("after", str, description="ISO 8601, inclusive"),
            OpenApiParameter("before", str, description="ISO 8601, exclusive"),
            OpenApiParameter("export", str, enum=["csv"], description="Every matching row as CSV"),
        ]
    )
    def get(self, request, *args, **kwargs):
        if request.query_params.get("export") == "csv":
            rows = OperationSerializer(self.get_queryset()[:100_000], many=True).data
            return csv_response("operations", [_flat(row) for row in rows])
        return super().get(request, *args, **kwargs)


def _flat(row: dict) -> dict:
    """A CSV cell per field; the details as JSON text."""
    return {
        k: json.dumps(v, sort_keys=True) if isinstance(v, dict) else ("" if v is None else v) for k, v in row.items()
    }


# ---------------------------------------------------------------------------
# History across instances: activities, decisions, variables, incidents


class HistoryRowSerializer(serializers.ModelSerializer):
    user = serializers.CharField(source="actor.username", read_only=True, default=None)
    process_key = serializers.CharField(source="instance.process_key", read_only=True)
    business_key = serializers.CharField(source="instance.business_key", read_only=True)

    class Meta:
        model = HistoryEvent
        fields = [
            "id",
            "created_at",
            "kind",
            "instance",
            "process_key",
            "business_key",
            "element_id",
            "element_name",
            "user",
            "data",
        ]


class HistoryFiltersSerializer(serializers.Serializer):
    instance = serializers.IntegerField(required=False, min_value=1)
    process_key = serializers.CharField(required=False, allow_blank=True, default="")
    element_id = serializers.CharField(required=False, allow_blank=True, default="")
    name = serializers.CharField(required=False, allow_blank=True, default="")
    state = serializers.ChoiceField(choices=["open", "resolved"], required=False, allow_blank=True, default="")
    after = serializers.DateTimeField(required=False)
    before = serializers.DateTimeField(required=False)
    export = serializers.ChoiceField(choices=["csv"], required=False)


_COMMON = [
    OpenApiParameter("instance", int),
    OpenApiParameter("process_key", str),
    OpenApiParameter("element_id", str),
    OpenApiParameter("after", str, description="ISO 8601, inclusive"),
    OpenApiParameter("before", str, description="ISO 8601, exclusive"),
    OpenApiParameter("export", str, enum=["csv"], description="Every matching row as CSV"),
]


class _HistoryView(ListAPIView):
    action_scopes = {"get": "read"}
    csv_name = "history"

    def filters(self) -> dict:
        filters = HistoryFiltersSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        data = dict(filters.validated_data)
        data.pop("export", None)
        data["instance_id"] = data.pop("instance", None)
        return data

    def get(self, request, *args, **kwargs):
        if request.query_params.get("export") == "csv":
            rows = self.get_serializer(self.get_queryset()[:100_000], many=True).data
            return csv_response(self.csv_name, [_flat(row) for row in rows])
        return super().get(request, *args, **kwargs)


class _EventHistoryView(_HistoryView):
    serializer_class = HistoryRowSerializer
    what = ""

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return HistoryEvent.objects.none()
        data = self.filters()
        data.pop("state")
        return selectors.history_across_instances(self.request.user, self.what, **data)


class ActivityHistoryView(_EventHistoryView):
    """Steps entered and completed in every instance you may see (with how long each took)."""

    what, csv_name = "activities", "activities"

    @extend_schema(parameters=_COMMON)
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class DecisionHistoryView(_EventHistoryView):
    """Decisions business rule tasks evaluated: the decision key and its results."""

    what, csv_name = "decisions", "decisions"

    @extend_schema(parameters=[*_COMMON, OpenApiParameter("name", str, description="A decision key")])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class VariableHistoryView(_EventHistoryView):
    """Variable changes (old values are in earlier rows; the start's values are in its event)."""

    what, csv_name = "variables", "variables"

    @extend_schema(parameters=[*_COMMON, OpenApiParameter("name", str, description="A variable that changed")])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class IncidentHistoryView(_HistoryView):
    """Incidents of every instance you may see, open and resolved (who retried, when)."""

    serializer_class = IncidentSerializer
    csv_name = "incidents"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Incident.objects.none()
        data = self.filters()
        data.pop("name")
        return selectors.incidents_across_instances(self.request.user, **data)

    @extend_schema(parameters=[*_COMMON, OpenApiParameter("state", str, enum=["open", "resolved"])])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)
