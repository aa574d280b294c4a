from django.apps import AppConfig


class TasksConfig(AppConfig):
    name = "tasks"

    def ready(self) -> None:
        from integrations import health
        from processes import jobs, waiting
        from processes import services as process_services
        from processes.choices import JobKind
        from processes.forms import register_field_form

        from . import escalation, selectors, services, sync
        from .forms import TaskForm

        # Human tasks open and close with the engine's waiting points.
        waiting.register_listener(sync)
        # The instance API's "complete a step" follows the task rules for human steps.
        process_services.register_human_step_completer(services.task_complete_step)
        # A start event's form fields render and validate as a task's do.
        register_field_form(
            lambda fields, variables, data=None, posted_json=None: TaskForm(
                fields, variables, data=data, posted_json=posted_json
            )
        )
        # SLA escalation steps run as jobs of their own kind.
        jobs.register_job_kind(JobKind.ESCALATION, escalation.run_job)
        health.register_figures(selectors.metrics_figures)  # open and overdue tasks for /metrics
        # Candidate groups are names, as in Camunda: a group created after its task opened
        # makes its members candidates.
        from django.contrib.auth.models import Group
        from django.db.models.signals import post_save

        post_save.connect(sync.link_candidate_group, sender=Group, dispatch_uid="tasks-link-candidate-group")
