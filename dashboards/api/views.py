"""The dashboards' figures for reporting tools (/api/v1/metrics/...)."""

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from bpm.exceptions import InvalidInput, NotFound

from .. import selectors

WINDOW = [
    OpenApiParameter("days", int, description="The last N days (default 30, at most 3660)"),
    OpenApiParameter("since", OpenApiTypes.DATETIME, description="Window start (instead of days)"),
    OpenApiParameter("until", OpenApiTypes.DATETIME, description="Window end (default now)"),
]


def _window(request) -> selectors.Window:
    params = request.query_params
    if params.get("since"):
        since = parse_datetime(params["since"])
        until = parse_datetime(params["until"]) if params.get("until") else timezone.now()
        if since is None or until is None:
            raise InvalidInput(
                "Dates are ISO 8601", details={"since": ["An ISO 8601 date-time, e.g. 2026-11-01T00:00:00Z"]}
            )
        return selectors.Window(since=since, until=until)
    days = params.get("days", "30")
    if not days.isdigit() or not 0 < int(days) <= 3660:
        raise InvalidInput("days is a whole number from 1 to 3660", details={"days": ["From 1 to 3660."]})
    return selectors.Window.last(int(days))


class OverviewView(APIView):
    """Every process the caller owns: counts, cycle times against the target, tasks, incidents."""

    @extend_schema(parameters=WINDOW, responses=OpenApiTypes.OBJECT)
    def get(self, request):
        return Response({"processes": selectors.overview(request.user, _window(request))})


class ProcessMetricsView(APIView):
    """One owned process (optionally one version): figures, steps (slowest first), per-node heat."""

    @extend_schema(
        parameters=[*WINDOW, OpenApiParameter("version", int, description="One version only")],
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request, key: str):
        if key not in selectors.owned_keys(request.user):
            raise NotFound(f"No process '{key}' among the processes you own")
        version = request.query_params.get("version")
        if version is not None and not version.isdigit():
            raise InvalidInput("version is a number", details={"version": ["A version number."]})
        window = _window(request)
        version = int(version) if version else None
        return Response(
            {
                **selectors.process_figures(key, window, version=version),
                "steps": selectors.step_figures(key, window, version=version),
                "nodes": selectors.node_heat(key, window, version=version),
            }
        )


class WorkloadView(APIView):
    """Open and overdue tasks per person and group, completions and time to complete."""

    @extend_schema(parameters=WINDOW, responses=OpenApiTypes.OBJECT)
    def get(self, request):
        return Response(selectors.workload(request.user, _window(request)))
