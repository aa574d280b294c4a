"""The in-app notifications page; the bell's count comes from the context processor."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

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
@require_http_methods(["GET", "POST"])
def notification_open(request, pk):
    """A plain link (so it opens in a new tab too): marks the item read, then goes where it points."""
    item = InAppNotification.objects.filter(user=request.user, pk=pk).first()
    if item is None:
        return redirect("notifications:list")
    if item.read_at is None:
        item.read_at = timezone.now()
        item.save(update_fields=["read_at"])
    if not item.link or not url_has_allowed_host_and_scheme(item.link, allowed_hosts={request.get_host()}):
        return redirect("notifications:list")
    return redirect(item.link)


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
