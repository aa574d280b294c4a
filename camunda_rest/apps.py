from django.apps import AppConfig


class CamundaRestConfig(AppConfig):
    name = "camunda_rest"
    verbose_name = "Camunda 7 REST compatibility"

    def ready(self) -> None:
        from processes.services import external_tasks

        from . import longpoll

        # Workers waiting in fetchAndLock wake when tasks of their topics are created or freed.
        external_tasks.register_available_listener(longpoll.notify)
