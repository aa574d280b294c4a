"""REST API for approvals: decide, an instance's decisions, my pending approvals, my decisions."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from bpm.exceptions import InvalidInput
from integrations.idempotency import idempotent
from processes.api.views import IDEMPOTENCY_KEY
from tasks.api.serializers import TaskSerializer

from .. import selectors, services
from . import serializers as s


class DecideView(APIView):
    action_scopes = {"post": "tasks:complete"}

    @extend_schema(request=s.DecisionSerializer, responses={201: s.ApprovalSerializer}, parameters=[IDEMPOTENCY_KEY])
    @idempotent
    def post(self, request, task_id: int):
        """Approve, reject or request changes (a comment is required for the last two)."""
        data = s.DecisionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        approval = services.approval_decide(
            task_id=task_id, user=request.user, outcome=v["outcome"], comment=v["comment"], data=v["data"]
        )
        return Response(s.ApprovalSerializer(approval).data, status=status.HTTP_201_CREATED)


class InstanceApprovalsView(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("instance", int, required=True)], responses=s.ApprovalSerializer(many=True)
    )
    def get(self, request):
        """Decisions of an instance, oldest first (read only: decisions are never edited)."""
        instance = request.query_params.get("instance", "")
        if not instance.isdigit():
            raise InvalidInput("Give ?instance=<id>", details={"instance": ["An instance id is required."]})
        approvals = selectors.approvals_of_instance(request.user, int(instance))
        return Response(s.ApprovalSerializer(approvals, many=True).data)


class PendingApprovalsView(APIView):
    @extend_schema(responses=TaskSerializer(many=True))
    def get(self, request):
        """Open approval tasks assigned to me or claimable by me (four-eyes applied)."""
        return Response(TaskSerializer(selectors.pending_approvals(request.user)[:500], many=True).data)


class DecidedByMeView(APIView):
    @extend_schema(responses=s.ApprovalSerializer(many=True))
    def get(self, request):
        return Response(s.ApprovalSerializer(selectors.decided_by(request.user)[:500], many=True).data)
