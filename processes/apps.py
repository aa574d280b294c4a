from django.apps import AppConfig


class ProcessesConfig(AppConfig):
    name = "processes"
    verbose_name = "Processes"

    def ready(self) -> None:
        from django.conf import settings

        from . import checks  # noqa: F401 - registers system checks
        from .engine import runtime

        bpm = settings.BPM
        runtime.configure(
            scripts_enabled=bpm["SCRIPT_TASKS_ENABLED"],
            timeout_seconds=bpm["SCRIPT_TIMEOUT_SECONDS"],
            max_size=bpm["SCRIPT_MAX_SIZE"],
            spec_cache_size=bpm["SPEC_CACHE_SIZE"],
        )
