"""Approval pages: decide from the task page, my decisions, my out-of-office substitute."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.dateparse import parse_date
from django.views.decorators.http import require_POST

from bpm.pages import page_action

from . import selectors, services
from .models import Substitute


@login_required
@require_POST
def decide(request, task_id):
    data = {k: v for k, v in request.POST.items() if k not in ("csrfmiddlewaretoken", "outcome", "comment")}
    with page_action(request) as done:
        approval = services.approval_decide(
            task_id=task_id,
            user=request.user,
            outcome=request.POST.get("outcome", ""),
            comment=request.POST.get("comment", ""),
            data=data,
        )
        messages.success(request, f"{approval.get_outcome_display()}: {approval.level_name}.")
    return redirect("tasks:inbox") if done.ok else redirect("tasks:task-detail", pk=task_id)


@login_required
def decided_by_me(request):
    return render(request, "approvals/decided.html", {"approvals": selectors.decided_by(request.user)[:200]})


@login_required
def substitutes(request):
    if request.method == "POST":
        try:
            services.substitute_set(
                user=request.user,
                substitute_username=request.POST.get("substitute", "").strip(),
                starts_on=parse_date(request.POST.get("starts_on", "") or ""),
                ends_on=parse_date(request.POST.get("ends_on", "") or ""),
            )
            messages.success(request, "Substitute saved.")
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                messages.error(request, f"{field}: {' '.join(errors)}")
        except (TypeError, ValueError):
            messages.error(request, "Give both dates (YYYY-MM-DD).")
        return redirect("approvals:substitutes")
    return render(
        request,
        "approvals/substitutes.html",
        {
            "mine": Substitute.objects.filter(user=request.user).select_related("substitute"),
            "for_others": Substitute.objects.filter(substitute=request.user).select_related("user"),
        },
    )
