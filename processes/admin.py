from django.contrib import admin
from guardian.admin import GuardedModelAdmin

from .models import DecisionDefinition, Deployment, HistoryEvent, ProcessDefinition, ProcessInstance, WaitingStep


@admin.register(ProcessDefinition)
class ProcessDefinitionAdmin(GuardedModelAdmin):
    """Object permissions (view, start, own) are granted per definition here."""

    list_display = ["key", "version", "name", "is_active", "deployed_at", "deployed_by"]
    list_filter = ["is_active", "dialect"]
    search_fields = ["key", "name"]
    readonly_fields = [f.name for f in ProcessDefinition._meta.fields]


@admin.register(Deployment)
class DeploymentAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "source", "deployed_by", "deployed_at"]
    readonly_fields = ["name", "source", "deployed_by", "deployed_at", "dialect", "compatibility"]


@admin.register(DecisionDefinition)
class DecisionDefinitionAdmin(admin.ModelAdmin):
    list_display = ["key", "version", "deployed_at"]


class WaitingStepInline(admin.TabularInline):
    model = WaitingStep
    extra = 0
    can_delete = False
    readonly_fields = ["element_id", "name", "kind", "event_name", "due_at", "created_at"]
    fields = readonly_fields


@admin.register(ProcessInstance)
class ProcessInstanceAdmin(admin.ModelAdmin):
    """Read-only: instances change only through services (the one rule of state)."""

    list_display = ["id", "definition", "business_key", "status", "started_at", "ended_at"]
    list_filter = ["status"]
    search_fields = ["business_key", "definition__key"]
    readonly_fields = [f.name for f in ProcessInstance._meta.fields]
    inlines = [WaitingStepInline]

    def has_add_permission(self, request):
        return False


@admin.register(HistoryEvent)
class HistoryEventAdmin(admin.ModelAdmin):
    list_display = ["created_at", "instance", "kind", "element_id", "actor"]
    list_filter = ["kind"]
    readonly_fields = [f.name for f in HistoryEvent._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
