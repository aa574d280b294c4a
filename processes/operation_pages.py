"""Pages for operations on running instances: the migration preview, the modification dialog's
command, and batches (docs/OPERATIONS.md). Each action is the service /api/v1 calls."""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from bpm.pages import page_action

from . import selectors, services
from .choices import BatchKind, InstanceStatus
from .models import OPEN_STATUSES
from .services import batches
from .services.migration import migration_elements, migration_plan_with
from .services.modification import Instruction
from .views import _managed_definition

PREVIEW_INSTANCES = 200  # the preview validates these; execution takes them all


@login_required
def migration_preview(request, pk):
    """Both versions side by side with the mapping, and what it does to each running instance."""
    source = _managed_definition(request, pk)
    others = selectors.definition_versions(request.user, source.key).exclude(pk=source.pk)
    params = request.POST if request.method == "POST" else request.GET
    target_id = params.get("target") or next((str(d.pk) for d in others if d.is_active), None)
    target_id = target_id or (str(others[0].pk) if others else None)
    if target_id is None:
        messages.info(request, "This process has one version: deploy another to migrate instances to it.")
        return redirect("processes:definition-detail", pk=pk)
    target = _managed_definition(request, target_id)
    triggers = params.get("update_event_triggers") == "on"
    plan = services.migration_plan_generate(source=source, target=target, update_event_triggers=triggers)
    if params.get("mapped") == "1":  # the person's choices, from the mapping table
        choices = {key[4:]: value for key, value in params.items() if key.startswith("map:")}
        plan = migration_plan_with(plan, choices, update_event_triggers=triggers)
    running = source.instances.filter(status__in=OPEN_STATUSES).order_by("pk")
    if request.method == "POST" and params.get("action") == "execute":
        return _execute(request, plan, running, params)
    report = services.migration_validate(
        plan=plan, instance_ids=list(running.values_list("pk", flat=True)[:PREVIEW_INSTANCES])
    )
    mapping = {i.source: i.target for i in plan.instructions}
    source_elements, target_elements = migration_elements(source), migration_elements(target)
    return render(
        request,
        "processes/migration.html",
        {
            "source": source,
            "target": target,
            "others": others,
            "triggers": triggers,
            "rows": [{**e, "target": mapping.get(e["id"], "")} for e in source_elements],
            "target_elements": target_elements,
            "plan_problems": report["plan"],
            "reports": [(instance_id, problems) for instance_id, problems in report["instances"].items()],
            "movable": sum(1 for problems in report["instances"].values() if not problems),
            "running_count": running.count(),
            "source_marks": json.dumps(
                {e["id"]: "step-mapped" if e["id"] in mapping else "step-unmapped" for e in source_elements}
            ),
            "target_marks": json.dumps({t: "step-mapped" for t in mapping.values()}),
        },
    )


def _execute(request, plan, running, params):
    chosen = [int(i) for i in params.getlist("instance") if i.isdigit()]
    ids = chosen or list(running.values_list("pk", flat=True))
    reevaluate = params.get("reevaluate_assignments") == "on"
    if params.get("run_as_batch") == "on":
        with page_action(request) as outcome:
            batch = batches.batch_create(
                kind=BatchKind.MIGRATE,
                instance_ids=ids,
                params={"plan": plan.as_dict(), "reevaluate_assignments": reevaluate},
                user=request.user,
            )
        if outcome.ok:
            messages.success(request, f"Migrating {batch.total} instances in the background.")
            return redirect("processes:batch-detail", pk=batch.pk)
    else:
        with page_action(request) as outcome:  # a refusal: its message, and the report below again
            moved = services.migration_execute(
                plan=plan, instance_ids=ids, user=request.user, reevaluate_assignments=reevaluate
            )
        if outcome.ok:
            messages.success(request, f"{moved} instances now run version {plan.target.version}.")
            return redirect(f"{reverse('processes:instance-list')}?process={plan.target.key}")
    kept = request.POST.copy()  # the person's choices, back on the preview (not the token or the action)
    for name in ("csrfmiddlewaretoken", "action"):
        kept.pop(name, None)
    query = kept.urlencode()
    return redirect(f"{reverse('processes:definition-migrate', args=[plan.source.pk])}?{query}")


@login_required
@require_POST
def instance_modify(request, pk):
    """The modification dialog: cancel the chosen activities, start before or after an element."""
    instance = get_object_or_404(selectors.instances_visible_to(request.user), pk=pk)
    if not selectors.user_can_manage_instance(request.user, instance):
        raise PermissionDenied("Modifying needs ownership of the process.")
    instructions = [Instruction("cancel", activity_instance_id=task_id) for task_id in request.POST.getlist("cancel")]
    element = request.POST.get("element", "").strip()
    if element:
        kind = "start_after" if request.POST.get("start") == "after" else "start_before"
        instructions.append(Instruction(kind, element))
    if not instructions:
        messages.error(request, "Choose activities to cancel or an element to start.")
        return redirect("processes:instance-detail", pk=pk)
    with page_action(request, "The instance was modified; the history records it with your reason."):
        services.instance_modify(
            instance_id=instance.pk, instructions=instructions, user=request.user, reason=request.POST.get("reason", "")
        )
    return redirect("processes:instance-detail", pk=pk)


@login_required
def batch_list(request):
    """Batches with their progress; a new one over instances chosen by process, version and status."""
    if request.method == "POST":
        return _batch_create(request)
    page = Paginator(selectors.batches_visible_to(request.user), 30).get_page(request.GET.get("page"))
    return render(
        request,
        "processes/batch_list.html",
        {
            "batches": page,
            "kinds": [(k, label) for k, label in BatchKind.choices if k != BatchKind.MIGRATE],
            "statuses": InstanceStatus.choices,
            "processes": selectors.definition_latest_list(request.user),
            "refresh": any(b.status == "running" for b in page),
        },
    )


def _batch_create(request):
    query = {"process_key": request.POST.get("process", ""), "status": request.POST.get("status", "")}
    if request.POST.get("version", "").isdigit():
        definition = (
            selectors.definitions_visible_to(request.user)
            .filter(key=query["process_key"], version=int(request.POST["version"]))
            .first()
        )
        query["definition_id"] = definition.pk if definition else -1
    ids = selectors.instance_ids_matching(request.user, query)
    params = {"reason": request.POST.get("reason", "")}
    with page_action(request) as outcome:
        if request.POST.get("kind") == BatchKind.SET_VARIABLES:
            params["variables"] = _json_object(request.POST.get("variables", ""))
        batch = batches.batch_create(
            kind=request.POST.get("kind", ""),
            instance_ids=ids,
            params=params,
            user=request.user,
            may_change=lambda selected: selectors.instances_not_manageable(request.user, selected),
        )
    if outcome.ok:
        messages.success(request, f"{batch.get_kind_display()}: {batch.total} instances, in the background.")
        return redirect("processes:batch-detail", pk=batch.pk)
    return redirect("processes:batch-list")


def _json_object(text: str) -> dict:
    from bpm.exceptions import InvalidInput

    try:
        value = json.loads(text or "{}")
    except ValueError as exc:
        raise InvalidInput(f"Variables: not JSON ({exc})") from None
    if not isinstance(value, dict):
        raise InvalidInput("Variables: a JSON object of names and values")
    return value


@login_required
def batch_detail(request, pk):
    batch = get_object_or_404(selectors.batches_visible_to(request.user), pk=pk)
    if request.method == "POST":
        with page_action(request, "The batch is stopped; what it did stays done."):
            batches.batch_cancel(batch_id=batch.pk, user=request.user)
        return redirect("processes:batch-detail", pk=pk)
    failures = Paginator(batch.failures.all(), 50).get_page(request.GET.get("page"))
    return render(
        request,
        "processes/batch_detail.html",
        {"batch": batch, "failures": failures, "refresh": batch.status == "running"},
    )
