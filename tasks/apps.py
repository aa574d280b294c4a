from django.apps import AppConfig


class TasksConfig(AppConfig):
    name = "tasks"

    def ready(self) -> None:
        from processes import services as process_services

        from . import services

        # The instance API's "complete a step" follows the task rules for human steps.
        process_services.register_human_step_completer(services.task_complete_step)
