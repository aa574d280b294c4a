from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"

    def ready(self) -> None:
        from integrations import health

        from .figures import metrics_figures

        health.register_figures(metrics_figures)  # the outbox for /metrics
