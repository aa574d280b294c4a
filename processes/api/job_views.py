"""/api/v1/jobs/ and /incidents/: the background work of instances one may see (timers,
service calls, asynchronous continuations); owners set a job's retries or move its due date,
and retry an incident once its cause is fixed."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from .. import selectors, services
from ..choices import JobKind, JobStatus
from ..models import Incident, Job
from ..services.jobs import MAX_RETRIES
from .serializers import IncidentSerializer


class JobSerializer(serializers.ModelSerializer):
    retries = serializers.SerializerMethodField(help_text="Attempts left")

    class Meta:
        model = Job
        fields = ["id", "instance", "kind", "element_id", "due_at", "status", "attempts", "retries", "last_error"]

    def get_retries(self, job) -> int:
        return max(job.max_attempts - job.attempts, 0)


class RetriesSerializer(serializers.Serializer):
    retries = serializers.IntegerField(min_value=1, max_value=MAX_RETRIES)


class DueSerializer(serializers.Serializer):
    due_at = serializers.DateTimeField()


class JobViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Jobs of instances the caller may see, due first; filter by instance, status and kind."""

    lookup_value_regex = r"[0-9]+"
    action_scopes = {"retries": "instances:manage", "due": "instances:manage"}
    serializer_class = JobSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Job.objects.none()
        jobs = Job.objects.filter(instance__in=selectors.instances_visible_to(self.request.user))
        params = self.request.query_params
        if params.get("instance", "").isdigit():
            jobs = jobs.filter(instance_id=int(params["instance"]))
        if params.get("status") in JobStatus.values:
            jobs = jobs.filter(status=params["status"])
        if params.get("kind") in JobKind.values:
            jobs = jobs.filter(kind=params["kind"])
        return jobs.order_by("due_at", "id")

    @extend_schema(
        parameters=[
            OpenApiParameter("instance", int),
            OpenApiParameter("status", str, enum=list(JobStatus.values)),
            OpenApiParameter("kind", str, enum=list(JobKind.values)),
        ]
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    def _managed(self) -> Job:
        job = self.get_object()
        if not selectors.user_can_manage_instance(self.request.user, job.instance):
            raise PermissionDenied("Changing a job needs ownership of the process.")
        return job

    @extend_schema(request=RetriesSerializer, responses=JobSerializer)
    @action(detail=True, methods=["post"])
    def retries(self, request, pk=None):
        """Let the job make this many more attempts; a failed job runs again and its incident is resolved."""
        job = self._managed()
        data = RetriesSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        changed = services.job_set_retries(job_id=job.pk, retries=data.validated_data["retries"], user=request.user)
        return Response(JobSerializer(changed).data)

    @extend_schema(request=DueSerializer, responses=JobSerializer)
    @action(detail=True, methods=["post"])
    def due(self, request, pk=None):
        """Move a pending job's due date."""
        job = self._managed()
        data = DueSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        changed = services.job_reschedule(job_id=job.pk, due_at=data.validated_data["due_at"], user=request.user)
        return Response(JobSerializer(changed).data)


class IncidentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Jobs that ran out of retries, on instances the caller may see; open ones first."""

    lookup_value_regex = r"[0-9]+"  # ids only: anything else is a 404, not a 500
    action_scopes = {"retry": "instances:manage"}

    serializer_class = IncidentSerializer

    def get_queryset(self):

        if getattr(self, "swagger_fake_view", False):
            return Incident.objects.none()
        qs = Incident.objects.filter(instance__in=selectors.instances_visible_to(self.request.user)).select_related(
            "job"
        )
        if self.request.query_params.get("open") in ("1", "true"):
            qs = qs.filter(resolved_at__isnull=True)
        return qs.order_by("resolved_at", "-created_at")

    @extend_schema(request=None, responses=IncidentSerializer)
    @action(detail=True, methods=["post"])
    def retry(self, request, pk=None):
        """Run the failed job again (after fixing its cause)."""
        incident = self.get_object()
        if not selectors.user_can_manage_instance(request.user, incident.instance):
            raise PermissionDenied("Retrying needs ownership of the process.")
        return Response(IncidentSerializer(services.incident_retry(incident_id=incident.pk, user=request.user)).data)
