"""The modeler page and the JSON calls its script makes (validate, save a draft, deploy).
Designers only; each call goes through processes.modeler like an upload does."""

from __future__ import annotations

import json

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import JsonResponse
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from bpm.exceptions import ApplicationError, InvalidInput

from . import modeler, selectors
from .exceptions import DefinitionInvalidError
from .models import ProcessDefinition


def _designer(request) -> None:
    if not selectors.user_can_deploy(request.user):
        raise PermissionDenied("Modeling needs the Process Designer role.")


@login_required
def modeler_page(request):
    _designer(request)
    definition = decision = None
    if request.GET.get("definition", "").isdigit():
        definition = get_object_or_404(selectors.definitions_visible_to(request.user), pk=request.GET["definition"])
    if request.GET.get("decision", "").isdigit():
        decision = get_object_or_404(selectors.decisions_visible_to(request.user), pk=request.GET["decision"])
    form = None
    if request.GET.get("form", "").isdigit():
        form = get_object_or_404(modeler.deployed_forms(), pk=request.GET["form"])
    kind = request.GET.get("kind") if request.GET.get("kind") in modeler.KINDS else "bpmn"
    opened = modeler.modeler_open(
        user=request.user,
        kind=kind,
        definition=definition,
        decision=decision,
        form=form,
        key=request.GET.get("draft", ""),
    )
    with_process = ""
    if form is not None:
        first = ProcessDefinition.objects.filter(deployment_id=form.deployment_id, is_active=True).first()
        with_process = first.key if first else ""
    data = {
        "xml": opened.xml,
        "kind": opened.kind,
        "name": opened.form.name if opened.form else "",
        "opened_from": opened.definition.pk if opened.definition else None,
        "csrf": get_token(request),
        "urls": {
            "check": reverse("processes:modeler-check"),
            "draft": reverse("processes:modeler-draft"),
            "deploy": reverse("processes:modeler-deploy"),
        },
    }
    return render(
        request,
        "processes/modeler.html",
        {
            "opened": opened,
            "modeler_data": data,
            "drafts": modeler.drafts_of(request.user),
            "decisions": modeler.latest_decisions(),
            "forms": modeler.deployed_forms(),
            "processes": selectors.process_choices(request.user),
            "with_process": with_process,
        },
    )


def _posted(request) -> dict:
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        body = None
    if not isinstance(body, dict) or not isinstance(body.get("xml", ""), str):
        raise InvalidInput("Send a JSON object with the diagram's xml as text.", details={"xml": ["Text."]})
    return body


def _answer(call) -> JsonResponse:
    try:
        return JsonResponse(call())
    except DefinitionInvalidError as error:
        return JsonResponse({"message": error.message, "problems": error.details or []}, status=422)
    except ApplicationError as error:
        return JsonResponse({"message": error.message, "details": error.details}, status=error.status)


@login_required
@require_POST
def modeler_check(request):
    _designer(request)

    def check():
        body = _posted(request)
        checked = modeler.modeler_check(
            xml=body.get("xml", ""), kind=body.get("kind", "bpmn"), name=str(body.get("name") or "")
        )
        return {"problems": checked.problems, "notes": checked.notes}

    return _answer(check)


@login_required
@require_POST
def modeler_draft(request):
    _designer(request)

    def save():
        body = _posted(request)
        opened_from = None
        if str(body.get("opened_from") or "").isdigit():
            opened_from = selectors.definitions_visible_to(request.user).filter(pk=body["opened_from"]).first()
        draft = modeler.draft_save(
            user=request.user,
            xml=body.get("xml", ""),
            kind=body.get("kind", "bpmn"),
            opened_from=opened_from,
            name=str(body.get("name") or ""),
        )
        return {"key": draft.key, "saved_at": draft.updated_at.isoformat()}

    return _answer(save)


@login_required
@require_POST
def modeler_deploy(request):
    _designer(request)

    def deploy():
        body = _posted(request)
        kind = body.get("kind", "bpmn")
        result = modeler.modeler_deploy(
            user=request.user,
            xml=body.get("xml", ""),
            kind=kind,
            with_process=str(body.get("with_process") or ""),
            name=str(body.get("name") or ""),
        )
        if kind == "form":
            shown = (result.created or result.unchanged)[0]
            return {
                "message": result.message
                if result.created
                else f"Nothing new: {shown.key} does not use this form, or it is unchanged.",
                "created": [{"key": d.key, "version": d.version} for d in result.created],
                "unchanged": [],
                "url": reverse("processes:definition-detail", args=[shown.pk]) if result.created else "",
            }
        if kind == "dmn":
            decisions = result.decisions_created or []
            return {
                "message": result.message,
                "created": [{"key": d.key, "version": d.version} for d in decisions],
                "unchanged": [],
                "url": f"{reverse('processes:modeler')}?decision={decisions[0].pk}" if decisions else "",
            }
        shown = (result.created or result.unchanged)[0]
        return {
            "message": result.message,
            "created": [{"key": d.key, "version": d.version} for d in result.created],
            "unchanged": [{"key": d.key, "version": d.version} for d in result.unchanged],
            "url": reverse("processes:definition-detail", args=[shown.pk]),
        }

    return _answer(deploy)
