"""Starting a process from the web: the list of processes one may start, and one process's
start page (its start form, kept as typed when the start is refused)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render

from bpm.pages import page_action

from . import selectors, services
from .forms import StartInstanceForm, start_fields_form
from .models import ProcessDefinition


def start_context(request, definition: ProcessDefinition, start_form=None, fields_form=None) -> dict:
    """What the start form needs (the start page and the process page both show it)."""
    can_deploy = selectors.user_can_deploy(request.user)
    fields_form = fields_form or start_fields_form(selectors.start_form_fields(definition))
    schema = selectors.start_form_schema(definition)
    return {
        "start_form": start_form or StartInstanceForm(allow_variables=can_deploy),
        "start_fields_form": fields_form,
        "start_form_js": {"schema": schema, "data": fields_form.form_js_values()} if schema and fields_form else None,
        "can_start": selectors.user_can_start(request.user, definition),
        "can_deploy": can_deploy,
    }


@login_required
def start_list(request):
    """ "Start a process": the active versions the user may start, by name."""
    startable = selectors.definitions_startable_by(request.user)
    return render(request, "processes/start_list.html", {"definitions": startable})


@login_required
def instance_start(request, pk):
    """GET: the start page. POST: start; refused, the page again with what was typed."""
    definition = get_object_or_404(selectors.definitions_visible_to(request.user), pk=pk)
    if not selectors.user_can_start(request.user, definition):
        raise PermissionDenied("You may not start this process.")
    if request.method != "POST":
        return _start_page(request, definition)
    can_deploy = selectors.user_can_deploy(request.user)
    form = StartInstanceForm(request.POST, allow_variables=can_deploy)
    fields_form = start_fields_form(selectors.start_form_fields(definition), post=request.POST)
    if not form.is_valid() or (fields_form is not None and not fields_form.is_valid()):
        for field, errors in form.errors.items():
            messages.error(request, f"{field}: {' '.join(errors)}")
        if fields_form is not None and fields_form.errors:
            messages.error(request, "Please correct the highlighted fields.")
        return _start_page(request, definition, form, fields_form, status=400)
    variables = form.cleaned_data.get("variables") or {}
    if fields_form is not None:
        variables = {**variables, **fields_form.variables()}  # the start form's fields win
    started = None
    with page_action(request) as done:
        started = services.instance_start(
            definition=definition,
            variables=variables,
            business_key=form.cleaned_data["business_key"],
            user=request.user,
        )
    if not done.ok:
        # refused (a failing first step, a business key in use): nothing was created; the
        # page says why and keeps what was typed
        return _start_page(request, definition, form, fields_form, status=422)
    messages.success(request, f"Started instance #{started.pk} ({started.get_status_display().lower()}).")
    return redirect("processes:instance-detail", pk=started.pk)


def _start_page(request, definition, form=None, fields_form=None, status: int = 200):
    context = {"definition": definition, **start_context(request, definition, form, fields_form)}
    return render(request, "processes/start.html", context, status=status)
