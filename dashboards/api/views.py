"""The dashboards' figures for reporting tools (/api/v1/metrics/...)."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from bpm.exceptions import InvalidInput, NotFound

from .. import selectors, windows

WINDOW = [
    OpenApiParameter("days", int, description="The last N days (default 30, at most 3660)"),
    OpenApiParameter(
        "since", str, description="Window start instead of days: an ISO 8601 date (that whole day) or date-time"
    ),
    OpenApiParameter("until", str, description="Window end with since (default now); a date includes that day"),
]


def _window(request) -> selectors.Window:
    try:
        return windows.window_from(request.query_params).window
    except windows.WindowError as error:
        raise InvalidInput(str(error), details={error.field: [error.message]}) from None


class OverviewView(APIView):
    """Every process the caller owns: counts, cycle times against the target, tasks, incidents."""

    @extend_schema(parameters=WINDOW, responses=OpenApiTypes.OBJECT)
    def get(self, request):
        return Response({"processes": selectors.overview(request.user, _window(request))})


class ProcessMetricsView(APIView):
    """One owned process (optionally one version): figures, steps (slowest first), per-node heat
    (completions, average duration, tokens waiting), and its versions side by side."""

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
                "versions": selectors.version_figures(key, window) if version is None else [],
            }
        )


class WorkloadView(APIView):
    """Open and overdue tasks per person and group, completions and time to complete."""

    @extend_schema(parameters=WINDOW, responses=OpenApiTypes.OBJECT)
    def get(self, request):
        return Response(selectors.workload(request.user, _window(request)))
