from django.contrib import admin

from .models import Approval, Substitute


@admin.register(Approval)
class ApprovalAdmin(admin.ModelAdmin):
    """Read only: decisions are evidence and are never edited or deleted."""

    list_display = ["decided_at", "instance", "level_name", "outcome", "decided_by", "on_behalf_of"]
    list_filter = ["outcome"]
    readonly_fields = [f.name for f in Approval._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Substitute)
class SubstituteAdmin(admin.ModelAdmin):
    list_display = ["user", "substitute", "starts_on", "ends_on"]
