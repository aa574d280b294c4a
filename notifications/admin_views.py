"""Pages for administrators: webhook subscriptions and dead letters (the same services as the API)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from bpm.pages import page_action

from . import services
from .forms import SubscriptionForm
from .models import Delivery, DeliveryStatus, WebhookSubscription
from .permissions import user_manages_webhooks


def _require_manager(request) -> None:
    if not user_manages_webhooks(request.user):
        raise PermissionDenied("Webhook subscriptions and dead letters are for administrators.")


def _form_errors(form, error: ValidationError) -> None:
    for field, problems in error.message_dict.items():
        form.add_error(field if field in form.fields else None, problems)


@login_required
def subscription_list(request):
    _require_manager(request)
    rows = WebhookSubscription.objects.annotate(
        delivered=Count("delivery", filter=Q(delivery__status=DeliveryStatus.DELIVERED)),
        pending=Count("delivery", filter=Q(delivery__status__in=[DeliveryStatus.PENDING, DeliveryStatus.SENDING])),
        dead=Count("delivery", filter=Q(delivery__status=DeliveryStatus.DEAD)),
    )
    return render(request, "notifications/webhooks.html", {"subscriptions": rows})


@login_required
def subscription_new(request):
    _require_manager(request)
    form = SubscriptionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            subscription, secret = services.subscription_create(
                name=data["name"],
                url=data["url"],
                event_types=data["event_types"],
                process_key=data["process_key"],
                format=data["format"],
                active=data["active"],
            )
        except ValidationError as error:
            _form_errors(form, error)
        else:
            return render(
                request, "notifications/webhook_secret.html", {"subscription": subscription, "secret": secret}
            )
    return render(request, "notifications/webhook_form.html", {"form": form, "subscription": None})


@login_required
def subscription_edit(request, pk: int):
    _require_manager(request)
    subscription = get_object_or_404(WebhookSubscription, pk=pk)
    initial = {f: getattr(subscription, f) for f in ("name", "url", "format", "event_types", "process_key", "active")}
    form = SubscriptionForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.subscription_update(subscription_id=pk, **form.cleaned_data)
        except ValidationError as error:
            _form_errors(form, error)
        else:
            messages.success(request, f"Subscription “{form.cleaned_data['name']}” saved.")
            return redirect("notifications:webhooks")
    return render(request, "notifications/webhook_form.html", {"form": form, "subscription": subscription})


@login_required
@require_POST
def subscription_rotate(request, pk: int):
    _require_manager(request)
    subscription = get_object_or_404(WebhookSubscription, pk=pk)
    secret = services.subscription_rotate_secret(subscription_id=pk)
    return render(request, "notifications/webhook_secret.html", {"subscription": subscription, "secret": secret})


@login_required
@require_POST
def subscription_delete(request, pk: int):
    _require_manager(request)
    subscription = get_object_or_404(WebhookSubscription, pk=pk)
    services.subscription_delete(subscription_id=pk)
    messages.success(request, f"Subscription “{subscription.name}” deleted.")
    return redirect("notifications:webhooks")


@login_required
def dead_letter_list(request):
    _require_manager(request)
    rows = (
        Delivery.objects.filter(status=DeliveryStatus.DEAD)
        .select_related("subscription", "user")
        .order_by("-created_at")[:200]
    )
    return render(request, "notifications/dead_letters.html", {"deliveries": rows})


@login_required
@require_POST
def dead_letter_replay(request, pk: int):
    _require_manager(request)
    with page_action(request, "Queued again: it goes out within seconds."):
        services.delivery_replay(delivery_id=pk)
    return redirect("notifications:dead-letters")


@login_required
@require_POST
def dead_letter_replay_all(request):
    _require_manager(request)
    count = services.dead_letters_replay_all()
    messages.success(request, f"{count} dead letters queued again.")
    return redirect("notifications:dead-letters")
