"""Health for load balancers and monitoring, and Prometheus metrics."""

import hmac
import ipaddress

from django.conf import settings
from django.http import HttpResponse
from drf_spectacular.utils import extend_schema, inline_serializer
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from . import health


class HealthView(APIView):
    """Database, broker and background work (a worker ran the job tick recently); 503 when any is down."""

    authentication_classes = []
    permission_classes = [AllowAny]
    public_endpoint = True  # load balancers ask without credentials; it shows no data
    throttle_classes = []

    @extend_schema(
        responses={
            200: inline_serializer(
                "Health",
                {"status": serializers.CharField(), "down": serializers.ListField(), "checks": serializers.DictField()},
            ),
            503: inline_serializer(
                "Unhealthy",
                {"status": serializers.CharField(), "down": serializers.ListField(), "checks": serializers.DictField()},
            ),
        }
    )
    def get(self, request):
        healthy, body = health.health()
        return Response(body, status=200 if healthy else 503)


class _Figures:
    def collect(self):
        f = health.figures()
        instances = GaugeMetricFamily("bpm_instances", "Process instances by status", labels=["status"])
        for status, count in sorted(f["instances_by_status"].items()):
            instances.add_metric([status], count)
        yield instances
        yield CounterMetricFamily("bpm_instances_started", "Instances started", value=f["instances_started"])
        yield CounterMetricFamily(
            "bpm_instances_completed", "Instances completed", value=f["instances_by_status"].get("completed", 0)
        )
        yield GaugeMetricFamily(
            "bpm_instances_failed", "Instances stopped on an error", value=f["instances_by_status"].get("error", 0)
        )
        yield GaugeMetricFamily("bpm_tasks_open", "Open human tasks", value=f["tasks_open"])
        yield GaugeMetricFamily("bpm_tasks_overdue", "Open human tasks past their due date", value=f["tasks_overdue"])
        yield GaugeMetricFamily(
            "bpm_jobs_pending", "Jobs (timers, service calls, escalations) waiting", value=f["jobs_pending"]
        )
        yield GaugeMetricFamily(
            "bpm_job_lag_seconds", "How long the oldest due job has waited to run", value=f["job_lag_seconds"]
        )
        yield GaugeMetricFamily("bpm_incidents_open", "Open incidents", value=f["incidents_open"])
        deliveries = GaugeMetricFamily("bpm_deliveries", "Notification deliveries by status", labels=["status"])
        for status, count in sorted(f["deliveries_by_status"].items()):
            deliveries.add_metric([status], count)
        yield deliveries
        yield GaugeMetricFamily(
            "bpm_delivery_failures",
            "Deliveries that failed at least once and are not delivered",
            value=f["delivery_failures"],
        )


_REGISTRY = CollectorRegistry(auto_describe=False)
_REGISTRY.register(_Figures())


def _scraper_allowed(request) -> bool:
    """With BPM_METRICS_TOKEN set, that bearer token; without, a direct caller from
    BPM_METRICS_ALLOWED_NETWORKS (default: this machine). A request that came through a proxy
    (X-Forwarded-For) is not direct: behind a proxy on the same machine every caller looks local."""
    token = settings.BPM.get("METRICS_TOKEN", "")
    if token:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        return hmac.compare_digest(given, token)
    if "HTTP_X_FORWARDED_FOR" in request.META:
        return False
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    networks = settings.BPM.get("METRICS_ALLOWED_NETWORKS", [])
    return any(address in ipaddress.ip_network(n, strict=False) for n in networks)


def metrics(request):
    """Prometheus text format, for scrapers the settings allow (token or address)."""
    if not _scraper_allowed(request):
        return HttpResponse(
            "Metrics need BPM_METRICS_TOKEN as a bearer token, or a caller in BPM_METRICS_ALLOWED_NETWORKS\n",
            status=401,
            content_type="text/plain",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return HttpResponse(generate_latest(_REGISTRY), content_type=CONTENT_TYPE_LATEST)
