"""REST API for human tasks: the inbox's filters, claim, unclaim, complete, delegate, resolve, reassign, comments."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from bpm.files import csv_response
from integrations.idempotency import idempotent
from processes.api.views import IDEMPOTENCY_KEY

from .. import selectors, services
from . import serializers as s

FILTERS = [
    OpenApiParameter(
        "view",
        str,
        enum=["mine", "group", "all"],
        description="mine (default), group (claimable), all (administrators)",
    ),
    OpenApiParameter("process", str, description="Process key"),
    OpenApiParameter("priority", int, description="Minimum priority"),
    OpenApiParameter("due_before", str, description="Due on or before this date (YYYY-MM-DD)"),
    OpenApiParameter("overdue", bool),
    OpenApiParameter("q", str, description="Search in task name and business key"),
    OpenApiParameter("sort", str, enum=["due", "priority", "created", "completed"]),
    OpenApiParameter(
        "status",
        str,
        enum=list(selectors.TASK_STATUSES),
        description="open (default); completed or cancelled: the ended tasks you completed or were assigned",
    ),
    OpenApiParameter(
        "follow_up",
        str,
        enum=list(selectors.FOLLOW_UPS),
        description="all (default): every open task; due: leave out tasks whose follow-up date is still ahead",
    ),
    OpenApiParameter(
        "variable", str, description="name:value, the instance's variable equals the value (JSON or text)"
    ),
    OpenApiParameter("group", str, description="A candidate group's name"),
]


class TaskViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Open tasks by inbox view; one task (404 when it is not yours to see)."""

    lookup_value_regex = r"[0-9]+"  # ids only: anything else is a 404, not a 500
    action_scopes = {
        a: "tasks:complete" for a in ("claim", "unclaim", "complete", "delegate", "resolve", "reassign", "comments")
    }

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation
            from ..models import HumanTask

            return HumanTask.objects.none()
        if self.action == "list":
            query = selectors.InboxQuery.from_params(self.request.query_params, follow_up="all")
            if query.status not in selectors.TASK_STATUSES:
                raise ValidationError({"status": [f"Use one of: {', '.join(selectors.TASK_STATUSES)}."]})
            return selectors.inbox_list(self.request.user, query)
        return selectors.tasks_visible_to(self.request.user).select_related("instance", "assignee", "owner")

    def get_serializer_class(self):
        return s.TaskDetailSerializer if self.action == "retrieve" else s.TaskSerializer

    @extend_schema(
        parameters=[
            *FILTERS,
            OpenApiParameter("export", str, enum=["csv"], description="Every matching task as CSV (up to 100,000)"),
        ]
    )
    def list(self, request, *args, **kwargs):
        if request.query_params.get("export") == "csv":  # e.g. status=completed: who did what, when
            rows = s.TaskSerializer(self.get_queryset()[:100_000], many=True).data
            return csv_response("tasks", [{k: "" if v is None else v for k, v in row.items()} for row in rows])
        return super().list(request, *args, **kwargs)

    def _done(self, task):
        return Response(s.TaskDetailSerializer(services.task_get(task_id=task.pk, user=self.request.user)).data)

    @extend_schema(request=None, responses=s.TaskDetailSerializer)
    @action(detail=True, methods=["post"])
    def claim(self, request, pk=None):
        """Claim; again by the same user is a no-op, by another user a 409."""
        return self._done(services.task_claim(task_id=pk, user=request.user))

    @extend_schema(request=None, responses=s.TaskDetailSerializer)
    @action(detail=True, methods=["post"])
    def unclaim(self, request, pk=None):
        return self._done(services.task_unclaim(task_id=pk, user=request.user))

    @extend_schema(request=s.TaskDataSerializer, responses=s.TaskSerializer, parameters=[IDEMPOTENCY_KEY])
    @action(detail=True, methods=["post"])
    @idempotent
    def complete(self, request, pk=None):
        """Complete with form data (validated against the task's form; 400 per field)."""
        data = s.TaskDataSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        task = services.task_complete(task_id=pk, user=request.user, data=data.validated_data["data"])
        return Response(s.TaskSerializer(task).data)

    @extend_schema(request=s.TaskUserSerializer, responses=s.TaskDetailSerializer)
    @action(detail=True, methods=["post"])
    def delegate(self, request, pk=None):
        """Delegate to a colleague; the task returns to you when they resolve it."""
        data = s.TaskUserSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self._done(
            services.task_delegate(task_id=pk, user=request.user, to_username=data.validated_data["user"])
        )

    @extend_schema(request=s.TaskDataSerializer, responses=s.TaskDetailSerializer)
    @action(detail=True, methods=["post"])
    def resolve(self, request, pk=None):
        """Hand a delegated task back to its owner with the data filled in."""
        data = s.TaskDataSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        task = services.task_resolve(task_id=pk, user=request.user, data=data.validated_data["data"])
        # the delegate may not see the task any more (not a candidate): answer with it as resolved
        return Response(s.TaskDetailSerializer(task).data)

    @extend_schema(request=s.TaskUserSerializer, responses=s.TaskDetailSerializer)
    @action(detail=True, methods=["post"])
    def reassign(self, request, pk=None):
        """Give the task to another user (process owners and administrators)."""
        data = s.TaskUserSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self._done(
            services.task_reassign(task_id=pk, user=request.user, to_username=data.validated_data["user"])
        )

    @extend_schema(methods=["get"], responses=s.CommentSerializer(many=True))
    @extend_schema(methods=["post"], request=s.CommentSerializer, responses={201: s.CommentSerializer})
    @action(detail=True, methods=["get", "post"])
    def comments(self, request, pk=None):
        if request.method == "POST":
            data = s.CommentSerializer(data=request.data)
            data.is_valid(raise_exception=True)
            comment = services.task_comment(task_id=pk, user=request.user, text=data.validated_data["text"])
            return Response(s.CommentSerializer(comment).data, status=201)
        task = services.task_get(task_id=pk, user=request.user)
        return Response(s.CommentSerializer(task.comments.select_related("author"), many=True).data)
