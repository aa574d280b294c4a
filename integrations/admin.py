from django.contrib import admin

from .models import ApiClient, Heartbeat, IdempotencyRecord


@admin.register(ApiClient)
class ApiClientAdmin(admin.ModelAdmin):
    """Scopes and revocation of OAuth2 clients (the application itself is under Django OAuth Toolkit)."""

    list_display = ["application", "scopes", "active", "created_at"]
    list_filter = ["active"]


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(admin.ModelAdmin):
    list_display = ["principal", "key", "response_status", "created_at", "completed_at"]
    readonly_fields = [f.name for f in IdempotencyRecord._meta.fields]


admin.site.register(Heartbeat)
