"""The page for teams moving from Camunda 7: how to point Camunda Modeler, workers and REST
clients here, and a check of their diagrams that deploys nothing."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from processes import selectors
from processes import services as process_services
from processes.exceptions import DefinitionInvalidError
from processes.forms import DeployForm

from .engine import CAMUNDA_VERSION


@login_required
def migration(request):
    can_check = selectors.user_can_deploy(request.user)
    form = DeployForm(request.POST or None, request.FILES or None)
    checked = problems = None
    status = 200
    if request.method == "POST" and can_check and form.is_valid():
        try:
            checked = process_services.definition_check(files=[(f.name, f.read()) for f in form.cleaned_data["files"]])
        except DefinitionInvalidError as exc:
            problems, status = exc.details or [{"message": exc.message}], 422
    endpoint = request.build_absolute_uri("/" + settings.BPM["ENGINE_REST_PREFIX"].strip("/"))
    return render(
        request,
        "camunda_rest/migration.html",
        {
            "endpoint": endpoint,
            "camunda_version": CAMUNDA_VERSION,
            "can_check": can_check,
            "form": form,
            "checked": checked,
            "problems": problems,
            "file_names": [f.name for f in form.cleaned_data["files"]] if form.is_bound and form.is_valid() else [],
        },
        status=status,
    )
