from django import forms
from django.contrib import admin, messages
from guardian.admin import GuardedModelAdmin

from .connections import connection_verify
from .models import (
    BusinessCalendar,
    Connection,
    DecisionDefinition,
    Deployment,
    HistoryEvent,
    ProcessDefinition,
    ProcessInstance,
    ProcessSettings,
    WaitingStep,
)


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


class ConnectionForm(forms.ModelForm):
    secret = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Password, token, API key or OAuth2 client secret. Stored encrypted, never shown again; leave empty to keep it.",
    )

    class Meta:
        model = Connection
        fields = ["name", "base_url", "auth", "username", "api_key_header", "token_url", "scope"]


@admin.register(Connection)
class ConnectionAdmin(admin.ModelAdmin):
    """Administrators manage connections; the secret is write-only."""

    form = ConnectionForm
    list_display = ["name", "base_url", "auth", "has_secret", "updated_at"]
    actions = ["verify"]

    def save_model(self, request, obj, form, change):
        from bpm.secrets import encrypt

        if form.cleaned_data.get("secret"):
            obj.secret_encrypted = encrypt(form.cleaned_data["secret"])
        super().save_model(request, obj, form, change)

    @admin.action(description="Verify (make a harmless GET to the base URL)")
    def verify(self, request, queryset):
        for connection in queryset:
            ok, message = connection_verify(connection=connection)
            self.message_user(request, f"{connection.name}: {message}", messages.SUCCESS if ok else messages.ERROR)


@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(admin.ModelAdmin):
    """Working time: hours per weekday, holidays, time zone (checked on save)."""

    list_display = ["name", "time_zone"]


@admin.register(ProcessSettings)
class ProcessSettingsAdmin(admin.ModelAdmin):
    """SLA targets and the escalation policy per process key (docs/SLA.md)."""

    list_display = ["key", "default_task_due", "target_cycle_time", "calendar"]
