from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = "Integrations (API clients, idempotency, health)"

    def ready(self) -> None:
        from . import (
            schema,  # noqa: F401 - registers the OpenAPI security scheme
            signals,
        )

        signals.connect()
