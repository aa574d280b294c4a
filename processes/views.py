"""Web pages for designers and owners: definitions, upload, versions, instances."""

import json

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from bpm.exceptions import InvalidInput
from bpm.files import download_response
from bpm.pages import page_action, query_without_page

from . import search, selectors, services, start_pages
from .choices import DeploySource, InstanceStatus
from .exceptions import DefinitionInvalidError
from .forms import DeployForm, ForceCompleteStepForm
from .models import ProcessDefinition, ProcessInstance


@login_required
def definition_list(request):
    definitions = selectors.definition_latest_list(request.user)
    return render(
        request,
        "processes/definition_list.html",
        {"definitions": definitions, "can_deploy": selectors.user_can_deploy(request.user)},
    )


@login_required
def definition_upload(request):
    if not selectors.user_can_deploy(request.user):
        raise PermissionDenied("Deploying needs the Process Designer role.")
    problems = []
    form = DeployForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            result = services.definition_deploy(
                files=[(f.name, f.read()) for f in form.cleaned_data["files"]],
                user=request.user,
                source=DeploySource.WEB,
            )
        except DefinitionInvalidError as exc:
            problems = exc.details
        else:
            level = messages.SUCCESS if result.changed_anything else messages.INFO
            messages.add_message(request, level, result.message)
            targets = result.created or result.unchanged
            if not targets:  # decision tables deployed on their own
                return redirect("processes:definition-list")
            return redirect("processes:definition-detail", pk=targets[0].pk)
    status = 422 if problems else 200
    return render(request, "processes/definition_upload.html", {"form": form, "problems": problems}, status=status)


@login_required
def definition_detail(request, pk):
    definition = get_object_or_404(selectors.definitions_visible_to(request.user).select_related("deployed_by"), pk=pk)
    instances = selectors.instances_visible_to(request.user).filter(definition__key=definition.key)
    page = Paginator(instances, 25).get_page(request.GET.get("page"))
    return render(
        request,
        "processes/definition_detail.html",
        {
            "definition": definition,
            "versions": selectors.definition_versions(request.user, definition.key),
            "instances": page,
            **start_pages.start_context(request, definition),
            "can_manage": selectors.user_can_manage_definition(request.user, definition),
            "default_ttl": settings.BPM["HISTORY_TTL_DAYS"],
            "can_grant": selectors.user_can_grant(request.user, definition),
            "grants": selectors.definition_grants(definition.key),
            "grantable": selectors.GRANTABLE,
            "following": request.user.process_subscriptions.filter(process_key=definition.key).exists(),
        },
    )


@login_required
def definition_xml(request, pk):
    definition = get_object_or_404(selectors.definitions_visible_to(request.user), pk=pk)
    # Always a download: the diagram viewer reads it with fetch(), a person saves it.
    return download_response(definition.xml, filename=f"{definition.key}-v{definition.version}.bpmn")


@login_required
def definition_diff(request, pk):
    definition = get_object_or_404(selectors.definitions_visible_to(request.user), pk=pk)
    versions = selectors.definition_versions(request.user, definition.key)
    other_id = request.GET.get("other")
    other = versions.filter(pk=other_id).first() if other_id and other_id.isdigit() else versions.exclude(pk=pk).first()
    diff = selectors.definition_diff(other, definition) if other else None
    return render(
        request,
        "processes/definition_diff.html",
        {"definition": definition, "other": other, "versions": versions, "diff": diff},
    )


@login_required
@require_POST
def definition_activate(request, pk):
    if not selectors.user_can_deploy(request.user):
        raise PermissionDenied("Changing the active version needs the Process Designer role.")
    definition = get_object_or_404(selectors.definitions_visible_to(request.user), pk=pk)
    services.definition_activate(definition=definition, user=request.user)
    messages.success(request, f"New instances of {definition.key} now start on version {definition.version}.")
    return redirect("processes:definition-detail", pk=pk)


def _managed_definition(request, pk) -> ProcessDefinition:
    definition = get_object_or_404(selectors.definitions_visible_to(request.user), pk=pk)
    if not selectors.user_can_manage_definition(request.user, definition):
        raise PermissionDenied("This needs ownership of the process.")
    return definition


@login_required
@require_POST
def definition_suspension(request, pk):
    """Suspend (no new instances) or resume a version; optionally its instances too."""
    definition = _managed_definition(request, pk)
    include = request.POST.get("include_instances") == "on"
    suspend = request.POST.get("suspend") == "1"
    change = services.definition_suspend if suspend else services.definition_resume
    with page_action(request):
        done = change(definition=definition, include_instances=include, user=request.user)
        said = "is suspended: nothing starts new instances of it" if suspend else "starts instances again"
        counted = f"; {done} instances {'suspended' if suspend else 'resumed'}." if include else "."
        messages.success(request, f"Version {definition.version} {said}{counted}")
    return redirect("processes:definition-detail", pk=pk)


@login_required
@require_POST
def definition_history_ttl(request, pk):
    """How many days ended instances of this version are kept (empty: the server's default)."""
    definition = _managed_definition(request, pk)
    text = request.POST.get("days", "").strip()
    if text and not text.isdigit():
        messages.error(request, "Keep history: enter a whole number of days, or leave it empty for the default.")
        return redirect("processes:definition-detail", pk=pk)
    kept = f"{text} days" if text else "the server's default"
    with page_action(request, f"Ended instances of version {definition.version} are kept for {kept}."):
        services.definition_set_history_ttl(definition=definition, days=int(text) if text else None, user=request.user)
    return redirect("processes:definition-detail", pk=pk)


@login_required
def instance_list(request):
    """Find instances: business key, process, status, a variable's value, starter, dates."""
    problem = None
    try:
        instances = search.instance_search(request.user, search.InstanceQuery.from_params(request.GET))
    except InvalidInput as error:  # the form again with what was typed, and why nothing was found
        problem, instances = error, ProcessInstance.objects.none()
    page = Paginator(instances, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "processes/instance_list.html",
        {
            "instances": page,
            "typed": request.GET,
            "problem": problem,
            "querystring": query_without_page(request),
            "statuses": InstanceStatus.choices,
            "processes": selectors.process_choices(request.user),
        },
    )


@login_required
def instance_detail(request, pk):
    instance = get_object_or_404(selectors.instances_visible_to(request.user), pk=pk)
    marks = selectors.instance_diagram_marks(instance)
    return render(
        request,
        "processes/instance_detail.html",
        {
            "instance": instance,
            "waiting": instance.waiting_steps.all(),
            "history": selectors.instance_history(instance),
            "marks": marks,
            "modify_marks": json.dumps({element_id: "step-current" for element_id in marks["current"]}),
            "can_manage": selectors.user_can_manage_instance(request.user, instance),
            "force_form": ForceCompleteStepForm() if services.user_may_force_complete(request.user) else None,
        },
    )


@login_required
@require_POST
def instance_cancel(request, pk):
    instance = get_object_or_404(selectors.instances_visible_to(request.user), pk=pk)
    if not selectors.user_can_manage_instance(request.user, instance):
        raise PermissionDenied("Cancelling needs ownership of the process.")
    with page_action(request, f"Instance #{instance.pk} was cancelled."):
        services.instance_cancel(instance_id=instance.pk, user=request.user, reason=request.POST.get("reason", ""))
    return redirect("processes:instance-detail", pk=pk)


@login_required
@require_POST
def instance_force_complete_step(request, pk, spiff_task_id):
    """Administrators only: complete a step without its rules, with a reason (the history names it)."""
    instance = get_object_or_404(selectors.instances_visible_to(request.user), pk=pk)
    form = ForceCompleteStepForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        return redirect("processes:instance-detail", pk=pk)
    with page_action(request, "Step force-completed; the history records it with your reason."):
        services.instance_force_complete_step(
            instance_id=instance.pk,
            spiff_task_id=str(spiff_task_id),
            reason=form.cleaned_data["reason"],
            data=form.cleaned_data["data"],
            user=request.user,
        )
    return redirect("processes:instance-detail", pk=pk)


def _grant_action(request, pk, action, done: str):
    definition = get_object_or_404(selectors.definitions_visible_to(request.user), pk=pk)
    if not selectors.user_can_grant(request.user, definition):
        raise PermissionDenied("Only owners of the process and administrators manage its access.")
    with page_action(request, done):
        action(
            definition=definition,
            perm=request.POST.get("perm", ""),
            kind="group" if request.POST.get("kind") == "group" else "user",
            name=request.POST.get("name", "").strip(),
        )
    return redirect("processes:definition-detail", pk=pk)


@login_required
@require_POST
def definition_grant(request, pk):
    return _grant_action(request, pk, services.definition_grant, "Access granted.")


@login_required
@require_POST
def definition_revoke(request, pk):
    return _grant_action(request, pk, services.definition_revoke, "Access removed.")


@login_required
@require_POST
def incident_retry(request, pk, incident_id):
    instance = get_object_or_404(selectors.instances_visible_to(request.user), pk=pk)
    if not selectors.user_can_manage_instance(request.user, instance):
        raise PermissionDenied("Retrying needs ownership of the process.")
    incident = get_object_or_404(instance.incidents, pk=incident_id)
    with page_action(request, "The job will run again within a few seconds."):
        services.incident_retry(incident_id=incident.pk, user=request.user)
    return redirect("processes:instance-detail", pk=pk)


@login_required
@require_POST
def definition_follow(request, pk):
    from notifications.services import process_follow

    definition = get_object_or_404(selectors.definitions_visible_to(request.user), pk=pk)
    follow = request.POST.get("follow") == "1"
    process_follow(user=request.user, process_key=definition.key, follow=follow)
    messages.success(request, "You follow this process." if follow else "You no longer follow this process.")
    return redirect("processes:definition-detail", pk=pk)
