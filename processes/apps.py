from django.apps import AppConfig


class ProcessesConfig(AppConfig):
    name = "processes"
    verbose_name = "Processes"

    def ready(self) -> None:
        from django.conf import settings
        from django.db.models.signals import post_migrate

        from bpm import config

        from . import checks  # noqa: F401 - registers system checks
        from .engine import runtime
        from .models import BusinessCalendar, ProcessSettings

        config.watch(ProcessSettings)  # default due dates are read on every task opened
        config.watch(BusinessCalendar)  # and the working time they are counted in

        bpm = settings.BPM
        runtime.configure(
            scripts_enabled=bpm["SCRIPT_TASKS_ENABLED"],
            timeout_seconds=bpm["SCRIPT_TIMEOUT_SECONDS"],
            max_size=bpm["SCRIPT_MAX_SIZE"],
            max_memory_mb=bpm["SCRIPT_MAX_MEMORY_MB"],
            spec_cache_size=bpm["SPEC_CACHE_SIZE"],
        )
        from .engine import called
        from .services import called as called_versions

        # which version a call activity runs is looked up when the call happens
        called.register(called_versions.called_version, called_versions.called_version_by_id)
        from .engine import dmn
        from .services import decisions

        # and which version of a decision a business rule task evaluates (decisionRefBinding)
        dmn.register_decision_resolver(decisions.bound_decisions)
        from integrations import health

        from . import jobs, selectors

        # /api/v1/health: whoever runs the job tick (a worker, the demo's runner) beats
        jobs.register_periodic(0, health.heartbeat)
        from .services import retention

        # history retention inside its daily window (beat runs processes.history_cleanup in production)
        jobs.register_periodic(600, retention.history_cleanup_in_window)
        jobs.register_job_kind("history_cleanup", retention.run_cleanup_job)
        from .services import batches

        # batches nobody moved on for a minute go to a worker again (beat: processes.batches_resume)
        jobs.register_periodic(60, batches.batches_resume_stalled)
        health.register_figures(selectors.metrics_figures)
        # after every app's migrate (not only ours): the permissions of apps migrated after
        # this one (notifications) exist only then
        post_migrate.connect(_restore_roles, dispatch_uid="bpm-restore-roles")


def _restore_roles(sender, **kwargs) -> None:
    """Keep the role groups present after migrate and flush (flush empties every table)."""
    from django.contrib.auth.models import Group, Permission

    from .roles import ensure_roles

    ensure_roles(Group, Permission)
