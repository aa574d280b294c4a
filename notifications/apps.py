from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"

    def ready(self) -> None:
        from bpm import config
        from integrations import health

        from .figures import metrics_figures
        from .models import Preference, ProcessSubscription, WebhookSubscription

        for model in (WebhookSubscription, ProcessSubscription, Preference):  # read on every event
            config.watch(model)

        health.register_figures(metrics_figures)  # the outbox for /metrics
