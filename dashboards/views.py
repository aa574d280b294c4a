"""Dashboard pages for process owners; figures from selectors, charts drawn by Chart.js
(served from static/vendor, no CDN), the diagram heat overlay drawn server-side as SVG."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from bpm.files import csv_response
from processes.diagram import DiagramMissing, Overlay, render_svg
from processes.models import ProcessDefinition

from . import selectors, services, windows
from .models import AlertMetric, AlertRule
from .templatetags.durations import duration

HEAT = ["#fff7ed", "#ffedd5", "#fed7aa", "#fdba74", "#fb923c", "#f97316"]


def _window(request) -> windows.Chosen:
    """The window the page asks for; a wrong one is explained and the last 30 days shown."""
    try:
        return windows.window_from(request.GET)
    except windows.WindowError as error:
        messages.error(request, f"{error.field}: {error.message} Showing the last 30 days.")
        return windows.window_from({})


def _csv(filename: str, rows: list[dict]) -> HttpResponse:
    return csv_response(filename, rows)


@login_required
def overview(request):
    chosen = _window(request)
    processes = selectors.overview(request.user, chosen.window)
    if request.GET.get("export") == "csv":
        return _csv("processes", [{k: v for k, v in p.items() if k != "per_day"} for p in processes])
    per_day: dict = {}
    for p in processes:
        for row in p["per_day"]:
            day = per_day.setdefault(row["day"].isoformat(), {"started": 0, "completed": 0})
            day["started"] += row["started"]
            day["completed"] += row["completed"]
    chart = {
        "labels": sorted(per_day),
        "started": [per_day[d]["started"] for d in sorted(per_day)],
        "completed": [per_day[d]["completed"] for d in sorted(per_day)],
    }
    return render(request, "dashboards/overview.html", {"processes": processes, "chosen": chosen, "chart": chart})


def heat_overlays(nodes: dict[str, dict]) -> dict[str, Overlay]:
    """Colour each element by its completions relative to the busiest one; badge the counts."""
    busiest = max((n["completed"] for n in nodes.values()), default=0) or 1
    overlays = {}
    for element_id, n in nodes.items():
        shade = HEAT[min(len(HEAT) - 1, round(n["completed"] / busiest * (len(HEAT) - 1)))]
        took = n.get("avg_duration_s")
        badge = str(n["completed"]) + (f" · {duration(took)}" if took and took >= 1 else "")
        badge += f" +{n['waiting']}" if n["waiting"] else ""
        title = f"{n['completed']} completed" + (f", {duration(took)} on average" if took is not None else "")
        overlays[element_id] = Overlay(
            fill=shade, badge=badge, title=f"{title}, {n['waiting']} waiting now", css_class="hot"
        )
    return overlays


@login_required
def process_detail(request, key: str):
    if key not in selectors.owned_keys(request.user):
        raise Http404("No such process among those you own")
    chosen = _window(request)
    window = chosen.window
    version = request.GET.get("version")
    version = int(version) if version and version.isdigit() else None
    export = request.GET.get("export")
    if export == "versions":  # each export computes only its own table
        return _csv(f"{key}-versions", selectors.version_figures(key, window))
    steps = selectors.step_figures(key, window, version=version)
    if export == "steps":
        return _csv(f"{key}-steps", steps)
    figures = selectors.process_figures(key, window, version=version)
    if export == "days":
        return _csv(f"{key}-per-day", figures["per_day"])
    nodes = selectors.node_heat(key, window, version=version)
    definitions = ProcessDefinition.objects.filter(key=key)
    definition = definitions.filter(version=version).first() if version else definitions.filter(is_active=True).first()
    try:
        diagram = mark_safe(render_svg(definition.xml, heat_overlays(nodes))) if definition else ""  # noqa: S308 - our own SVG, text escaped
    except DiagramMissing:
        diagram = ""
    chart = {
        "labels": [r["day"].isoformat() for r in figures["per_day"]],
        "started": [r["started"] for r in figures["per_day"]],
        "completed": [r["completed"] for r in figures["per_day"]],
        "steps": [s["name"] or s["element_id"] for s in steps],
        "waiting_h": [round((s["waiting_avg_s"] or 0) / 3600, 2) for s in steps],
        "working_h": [round((s["working_avg_s"] or 0) / 3600, 2) for s in steps],
    }
    return render(
        request,
        "dashboards/process.html",
        {
            "f": figures,
            "steps": steps,
            "diagram": diagram,
            "chosen": chosen,
            "versions": list(definitions.order_by("-version").values_list("version", flat=True)),
            "by_version": selectors.version_figures(key, window) if version is None else [],
            "alert_rules": AlertRule.objects.filter(process_key=key, owner=request.user),
            "alert_metrics": AlertMetric.choices,
            "version": version,
            "chart": chart,
        },
    )


@login_required
def workload(request):
    chosen = _window(request)
    data = selectors.workload(request.user, chosen.window)
    if request.GET.get("export") == "people":
        return _csv("workload-people", [{k: v for k, v in p.items() if k != "per_week"} for p in data["people"]])
    if request.GET.get("export") == "groups":
        return _csv("workload-groups", data["groups"])
    if request.GET.get("export") == "weeks":
        rows = [
            {"week": week["week"], "user": person["user"], "completed": person["per_week"][i]}
            for i, week in enumerate(data["weeks"])
            for person in data["people"]
            if person["per_week"][i]
        ]
        return _csv("workload-weeks", rows)
    chart = {
        "weeks": [w["week"].isoformat() for w in data["weeks"]],
        "people": [{"user": p["user"], "per_week": p["per_week"]} for p in data["people"] if any(p["per_week"])],
    }
    return render(request, "dashboards/workload.html", {**data, "chosen": chosen, "chart": chart})


@login_required
@require_POST
def alert_create(request, key: str):
    try:
        services.alert_rule_create(
            user=request.user,
            process_key=key,
            metric=request.POST.get("metric", ""),
            threshold=float(request.POST.get("threshold", "")),
            window_days=int(request.POST.get("window_days", "7") or 7),
        )
        messages.success(request, "Alert rule saved: you will hear when it passes and when it clears.")
    except ValueError:
        messages.error(request, "threshold and window_days must be numbers.")
    except ValidationError as error:
        for field, problems in error.message_dict.items():
            messages.error(request, f"{field}: {' '.join(problems)}")
    return redirect("dashboards:process", key=key)


@login_required
@require_POST
def alert_delete(request, key: str, pk: int):
    services.alert_rule_delete(user=request.user, rule_id=pk)
    return redirect("dashboards:process", key=key)
