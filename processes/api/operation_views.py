"""/api/v1/ operations on running instances: migration between versions, modification of one
instance, and batches over many (docs/OPERATIONS.md). Parse, call one service, render."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from bpm.exceptions import InvalidInput

from .. import selectors, services
from ..choices import BatchKind, InstanceStatus
from ..engine.modification import KINDS as MODIFICATION_KINDS
from ..models import Batch, BatchFailure
from ..services import batches
from ..services.modification import Instruction as ModificationInstruction
from .serializers import InstanceDetailSerializer


class InstructionSerializer(serializers.Serializer):
    source = serializers.CharField(max_length=255)
    target = serializers.CharField(max_length=255)
    update_event_trigger = serializers.BooleanField(default=False)


class PlanSerializer(serializers.Serializer):
    source_definition_id = serializers.IntegerField()
    target_definition_id = serializers.IntegerField()
    instructions = InstructionSerializer(many=True)


class GenerateSerializer(serializers.Serializer):
    source_definition_id = serializers.IntegerField()
    target_definition_id = serializers.IntegerField()
    update_event_triggers = serializers.BooleanField(default=False)


class SelectionQuerySerializer(serializers.Serializer):
    definition_id = serializers.IntegerField(required=False)
    process_key = serializers.CharField(required=False, max_length=255)
    status = serializers.ChoiceField(choices=InstanceStatus.choices, required=False)
    business_key = serializers.CharField(required=False, max_length=255)


class SelectionSerializer(serializers.Serializer):
    """Instances named by id, or by a query resolved when the command is given."""

    instance_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1), required=False, max_length=batches.MAX_ITEMS
    )
    query = SelectionQuerySerializer(required=False)

    def validate(self, attrs):
        if ("instance_ids" in attrs) == ("query" in attrs):
            raise serializers.ValidationError({"instance_ids": ["Give instance_ids or a query, not both"]})
        return attrs


class ValidateSerializer(SelectionSerializer):
    plan = PlanSerializer()


class ExecuteSerializer(ValidateSerializer):
    run_as_batch = serializers.BooleanField(default=False, help_text="Run in the background as a batch")
    reevaluate_assignments = serializers.BooleanField(default=False)


class ModificationInstructionSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=MODIFICATION_KINDS)
    element_id = serializers.CharField(max_length=255, required=False, default="")
    activity_instance_id = serializers.CharField(max_length=64, required=False, default="")
    ancestor_id = serializers.CharField(max_length=64, required=False, default="")
    variables = serializers.DictField(required=False, default=dict)


class ModifySerializer(serializers.Serializer):
    instructions = ModificationInstructionSerializer(many=True, min_length=1)
    reason = serializers.CharField(max_length=2000, required=False, default="", allow_blank=True)


class BatchSerializer(serializers.ModelSerializer):
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    percent = serializers.IntegerField(read_only=True)

    class Meta:
        model = Batch
        fields = [
            "id",
            "kind",
            "status",
            "total",
            "position",
            "succeeded",
            "failed",
            "percent",
            "created_by",
            "created_at",
            "ended_at",
            "params",
        ]


class BatchFailureSerializer(serializers.ModelSerializer):
    class Meta:
        model = BatchFailure
        fields = ["item_id", "message", "details", "at"]


class BatchCreateSerializer(SelectionSerializer):
    type = serializers.ChoiceField(choices=[k for k in BatchKind.values if k != BatchKind.MIGRATE])
    reason = serializers.CharField(max_length=2000, required=False, default="", allow_blank=True)
    variables = serializers.DictField(required=False)
    remove = serializers.ListField(child=serializers.CharField(max_length=255), required=False, default=list)


def _selection(user, data: dict) -> list[int]:
    if "query" in data:
        return selectors.instance_ids_matching(user, data["query"])
    ids = list(dict.fromkeys(data["instance_ids"]))
    visible = set(selectors.instances_visible_to(user).filter(pk__in=ids).values_list("pk", flat=True))
    unknown = [i for i in ids if i not in visible]
    if unknown:  # one you may not see is as unknown as one that does not exist
        raise InvalidInput(
            f"No instance {', '.join(map(str, unknown[:10]))}", details={"instance_ids": [f"unknown: {unknown[:10]}"]}
        )
    return ids


def _plan(user, data: dict) -> services.MigrationPlan:
    visible = selectors.definitions_visible_to(user)
    source = get_object_or_404(visible, pk=data["source_definition_id"])
    target = get_object_or_404(visible, pk=data["target_definition_id"])
    for definition in (source, target):
        if not selectors.user_can_manage_definition(user, definition):
            raise PermissionDenied(f"Migrating needs ownership of '{definition.key}'.")
    plan = services.MigrationPlan(source, target)
    if "instructions" in data:
        plan.instructions = [
            services.migration.migration.Instruction(i["source"], i["target"], i["update_event_trigger"])
            for i in data["instructions"]
        ]
    return plan


class MigrationGenerateView(APIView):
    """A plan mapping every element with the same id, kind and scope in both versions."""

    action_scopes = {"post": "instances:manage"}

    @extend_schema(request=GenerateSerializer, responses=PlanSerializer)
    def post(self, request):
        data = GenerateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        plan = _plan(request.user, data.validated_data)
        plan = services.migration_plan_generate(
            source=plan.source, target=plan.target, update_event_triggers=data.validated_data["update_event_triggers"]
        )
        return Response({**plan.as_dict(), "problems": services.migration_plan_problems(plan)})


class MigrationValidateView(APIView):
    """The plan's problems and, for each selected instance, what would stop it from moving."""

    action_scopes = {"post": "instances:manage"}

    @extend_schema(request=ValidateSerializer, responses=serializers.DictField())
    def post(self, request):
        data = ValidateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        plan = _plan(request.user, data.validated_data["plan"])
        ids = _selection(request.user, data.validated_data)
        return Response(services.migration_validate(plan=plan, instance_ids=ids))


class MigrationExecuteView(APIView):
    """Migrate the selected instances: all in this request (all or none), or as a batch (202)."""

    action_scopes = {"post": "instances:manage"}

    @extend_schema(request=ExecuteSerializer, responses={200: serializers.DictField(), 202: BatchSerializer})
    def post(self, request):
        data = ExecuteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        plan = _plan(request.user, v["plan"])
        ids = _selection(request.user, v)
        if v["run_as_batch"]:
            batch = batches.batch_create(
                kind=BatchKind.MIGRATE,
                instance_ids=ids,
                params={"plan": plan.as_dict(), "reevaluate_assignments": v["reevaluate_assignments"]},
                user=request.user,
            )
            return Response(BatchSerializer(batch).data, status=status.HTTP_202_ACCEPTED)
        moved = services.migration_execute(
            plan=plan, instance_ids=ids, user=request.user, reevaluate_assignments=v["reevaluate_assignments"]
        )
        return Response({"migrated": moved, "instance_ids": ids})


class InstanceModifyView(APIView):
    """Cancel activity instances and start before or after activities, in one atomic command."""

    action_scopes = {"post": "instances:manage"}

    @extend_schema(request=ModifySerializer, responses=InstanceDetailSerializer)
    def post(self, request, pk: int):
        instance = get_object_or_404(selectors.instances_visible_to(request.user), pk=pk)
        if not selectors.user_can_manage_instance(request.user, instance):
            raise PermissionDenied("Modifying needs ownership of the process.")
        data = ModifySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        instructions = [
            ModificationInstruction(
                i["type"], i["element_id"], i["activity_instance_id"], i["ancestor_id"], i["variables"]
            )
            for i in data.validated_data["instructions"]
        ]
        instance = services.instance_modify(
            instance_id=instance.pk, instructions=instructions, user=request.user, reason=data.validated_data["reason"]
        )
        return Response(InstanceDetailSerializer(instance).data)


class BatchViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Batches the caller started (all, for those who may change any instance), newest first."""

    serializer_class = BatchSerializer
    action_scopes = {"create": "instances:manage", "cancel": "instances:manage"}
    lookup_value_regex = r"[0-9]+"

    def get_queryset(self):
        return selectors.batches_visible_to(self.request.user)

    @extend_schema(request=BatchCreateSerializer, responses={202: BatchSerializer})
    def create(self, request):
        """Cancel, suspend, resume, set variables on, delete or retry the incidents of many instances."""
        data = BatchCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        params = {"reason": v["reason"]}
        if v["type"] == BatchKind.SET_VARIABLES:
            params.update(variables=v.get("variables") or {}, remove=v["remove"])
        batch = batches.batch_create(
            kind=v["type"],
            instance_ids=_selection(request.user, v),
            params=params,
            user=request.user,
            may_change=lambda ids: selectors.instances_not_manageable(request.user, ids),
        )
        return Response(BatchSerializer(batch).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=None, responses=BatchSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """Stop the batch: what it did stays done."""
        batch = self.get_object()
        return Response(BatchSerializer(batches.batch_cancel(batch_id=batch.pk, user=request.user)).data)

    @extend_schema(responses=BatchFailureSerializer(many=True))
    @action(detail=True, methods=["get"])
    def failures(self, request, pk=None):
        """The instances the batch could not do, and why."""
        page = self.paginate_queryset(self.get_object().failures.all())
        return self.get_paginated_response(BatchFailureSerializer(page, many=True).data)
