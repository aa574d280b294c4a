"""System checks that warn about unsafe engine configuration."""

from django.conf import settings
from django.core.checks import Warning, register


@register(deploy=True)
def eager_celery_outside_debug(app_configs, **kwargs):
    if getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False) and not settings.DEBUG:
        return [
            Warning(
                "Celery runs tasks eagerly (in the web process) while DEBUG is off.",
                hint="Set CELERY_TASK_ALWAYS_EAGER=false and run a worker in production.",
                id="bpm.W001",
            )
        ]
    return []


@register()
def script_limits_sane(app_configs, **kwargs):
    bpm = settings.BPM
    if bpm["SCRIPT_TASKS_ENABLED"] and bpm["SCRIPT_TIMEOUT_SECONDS"] > 30:
        return [
            Warning(
                "Script tasks may run for more than 30 seconds while holding an instance lock.",
                hint="Lower BPM_SCRIPT_TIMEOUT_SECONDS.",
                id="bpm.W002",
            )
        ]
    return []
