from django.apps import AppConfig


class DashboardsConfig(AppConfig):
    name = "dashboards"
    verbose_name = "SLA dashboards"

    def ready(self) -> None:
        from processes import jobs

        from .services import alerts_evaluate

        jobs.register_periodic(60, alerts_evaluate)  # the demo's runner; beat's bpm-alerts in production
