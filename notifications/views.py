"""The in-app notifications page; the bell's count comes from the context processor."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from .models import InAppNotification


@login_required
def notification_list(request):
    items = InAppNotification.objects.filter(user=request.user)[:100]
    return render(request, "notifications/list.html", {"items": items})


@login_required
@require_POST
def notification_read_all(request):
    InAppNotification.objects.filter(user=request.user, read_at__isnull=True).update(read_at=timezone.now())
    return redirect("notifications:list")


@login_required
@require_POST
def notification_open(request, pk):
    item = InAppNotification.objects.filter(user=request.user, pk=pk).first()
    if item is None:
        return redirect("notifications:list")
    if item.read_at is None:
        item.read_at = timezone.now()
        item.save(update_fields=["read_at"])
    return redirect(item.link or "notifications:list")


@login_required
def notification_preferences(request):
    from django.contrib import messages

    from . import services

    kinds = services.PERSONAL_EVENTS
    if request.method == "POST":
        services.preferences_save(
            user=request.user,
            choices={
                k: {"email": f"{k}:email" in request.POST, "in_app": f"{k}:in_app" in request.POST} for k in kinds
            },
        )
        messages.success(request, "Preferences saved.")
        return redirect("notifications:preferences")
    rows = [
        {
            "event_type": k,
            "description": services.EVENTS[k].description,
            "channels": services.channels_for(request.user, k),
        }
        for k in kinds
    ]
    return render(request, "notifications/preferences.html", {"rows": rows})
