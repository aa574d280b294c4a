"""What the history queries share: paging and sorting as Camunda names them, dates, states."""

from __future__ import annotations

import re

from django.db.models import F
from rest_framework.response import Response

from processes.choices import HistoryKind, InstanceStatus

from ..base import CamundaView, page
from ..errors import CamundaError
from ..variables import parse_date

STATE = {
    InstanceStatus.RUNNING: "ACTIVE",
    InstanceStatus.ERROR: "ACTIVE",  # Camunda keeps a failed instance active, with an incident
    InstanceStatus.SUSPENDED: "SUSPENDED",
    InstanceStatus.COMPLETED: "COMPLETED",
    InstanceStatus.CANCELLED: "EXTERNALLY_TERMINATED",
}
STATE_FILTER = {
    "active": [InstanceStatus.RUNNING, InstanceStatus.ERROR],
    "suspended": [InstanceStatus.SUSPENDED],
    "completed": [InstanceStatus.COMPLETED],
    "externallyTerminated": [InstanceStatus.CANCELLED],
}
STEP_KINDS = (HistoryKind.STEP_ENTERED, HistoryKind.STEP_COMPLETED, HistoryKind.STEP_FORCE_COMPLETED)


def activity_type(element_type: str) -> str:
    """Camunda's activityType for an element (``UserTask`` -> ``userTask``; an end event is a
    ``noneEndEvent``)."""
    name = element_type.rsplit(":", 1)[-1]
    if name == "EndEvent":
        return "noneEndEvent"
    return name[:1].lower() + name[1:]


def millis(start, end) -> int | None:
    if start is None or end is None:
        return None
    return int((end - start).total_seconds() * 1000)


def query_params(request) -> dict:
    """The query string, and for a POST query the body's names over it."""
    params = request.query_params.dict()
    if request.method == "POST" and isinstance(request.data, dict):
        params.update({k: v for k, v in request.data.items() if v is not None})
    return params


def id_list(value) -> list[int]:
    items = value if isinstance(value, list) else str(value).split(",")
    return [int(i) for i in map(str, items) if i.strip().isdigit()]


def digits(value) -> int:
    return int(value) if str(value).isdigit() else -1


def like_pattern(value) -> str:
    """Camunda's ``%`` pattern as a regular expression."""
    return "^" + re.escape(str(value)).replace("%", ".*").replace("_", ".") + "$"


def sorted_by(queryset, params: dict, fields: dict[str, str], default: str):
    key = params.get("sortBy") or default
    field = fields.get(key)
    if field is None:
        raise CamundaError(f"Cannot set query parameter 'sortBy' to value '{key}'")
    if params.get("sortOrder") not in (None, "", "asc", "desc"):
        raise CamundaError(f"Cannot set query parameter 'sortOrder' to value '{params['sortOrder']}'")
    descending = params.get("sortOrder") == "desc"
    order = F(field).desc(nulls_last=True) if descending else F(field).asc(nulls_last=True)
    return queryset.order_by(order, "pk")


def date_filtered(queryset, params: dict, lookups: dict[str, str]):
    for param, lookup in lookups.items():
        if params.get(param):
            queryset = queryset.filter(**{lookup: parse_date(str(params[param]), param)})
    return queryset


class HistoryQuery(CamundaView):
    """GET (query string) and POST (body) list, or their count: ``rows(request, params)`` finds
    the rows, ``dto(row)`` answers one (each history module declares its own)."""

    count = False
    rows = None
    dto = None

    @classmethod
    def of(cls, rows, dto=lambda row: row) -> type[HistoryQuery]:
        return type("HistoryQuery", (cls,), {"rows": staticmethod(rows), "dto": staticmethod(dto)})

    def get(self, request):
        params = query_params(request)
        rows = self.rows(request, params)
        if self.count:
            return Response({"count": len(rows) if isinstance(rows, list) else rows.count()})
        return Response([self.dto(r) for r in page(request, rows, params)])

    post = get
