from django.contrib import admin

from . import services
from .models import Delivery, DeliveryStatus, InAppNotification, WebhookSubscription


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(admin.ModelAdmin):
    list_display = ["name", "url", "format", "active", "created_at"]
    readonly_fields = ["created_at"]


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    """The outbox; dead letters can be replayed from here."""

    list_display = ["created_at", "event_type", "channel", "status", "attempts", "last_error"]
    list_filter = ["status", "channel", "event_type"]
    actions = ["replay"]
    readonly_fields = [f.name for f in Delivery._meta.fields]

    @admin.action(description="Replay dead letters")
    def replay(self, request, queryset):
        for delivery in queryset.filter(status=DeliveryStatus.DEAD):
            services.delivery_replay(delivery_id=delivery.pk)


admin.site.register(InAppNotification)
