from django.apps import AppConfig


class ApprovalsConfig(AppConfig):
    name = "approvals"

    def ready(self) -> None:
        from tasks import sync, views

        from . import hooks

        sync.register_open_hook(hooks.on_tasks_opened)
        views.register_approval_outcomes(hooks.approval_outcomes)
