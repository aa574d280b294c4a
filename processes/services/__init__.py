"""Services: every change to definitions and instances, each in one transaction.

The one rule of state (``state.py``): a service that changes an instance locks its row
(``select_for_update``), loads the engine state, applies the action, runs the engine
until the workflow waits, syncs waiting points to rows, appends history and emits
events, and saves the state, all inside one ``transaction.atomic`` block.

Lock order: when several instances are locked in one transaction (message correlation,
signals) they are locked in ascending id order.

The rooms: ``deploy`` (definitions), ``instances`` (commands on one instance),
``correlation`` (messages and signals), ``jobs`` (what timers and service jobs do),
``grants`` (who may see, start, own), ``checks`` (the invariant over open instances),
``external_tasks`` (the worker protocol: fetch and lock, complete, failure, BPMN error). Callers import this package: ``services.instance_start``.
"""

from . import external_tasks
from .checks import InstanceCheck, instances_check
from .correlation import conditions_evaluate, message_correlate, signal_broadcast
from .decisions import decision_evaluate
from .deploy import (
    CheckResult,
    DeployResult,
    definition_activate,
    definition_check,
    definition_deploy,
    specs_for,
)
from .grants import definition_grant, definition_revoke
from .instances import (
    HUMAN_STEP_KINDS,
    external_task_complete,
    instance_cancel,
    instance_complete_step,
    instance_force_complete_step,
    instance_resume,
    instance_set_variables,
    instance_start,
    instance_suspend,
    register_human_step_completer,
    step_complete,
    user_may_force_complete,
)
from .jobs import (
    incident_retry,
    instance_continue_async,
    instance_fire_timer,
    instance_start_by_timer,
    instance_throw_error,
    instance_throw_escalation,
    job_reschedule,
    job_set_retries,
)
from .lifecycle import (
    definition_delete,
    definition_resume,
    definition_set_history_ttl,
    definition_suspend,
    deployment_delete,
)
from .migration import (
    MigrationPlan,
    instance_migrate,
    migration_execute,
    migration_plan_generate,
    migration_plan_problems,
    migration_validate,
)
from .modification import instance_modify
from .state import history_append, lock_instance, waiting_element_ids

__all__ = [
    "MigrationPlan",
    "instance_migrate",
    "instance_modify",
    "migration_execute",
    "migration_plan_generate",
    "migration_plan_problems",
    "migration_validate",
    "InstanceCheck",
    "conditions_evaluate",
    "decision_evaluate",
    "instances_check",
    "HUMAN_STEP_KINDS",
    "CheckResult",
    "DeployResult",
    "definition_activate",
    "definition_check",
    "definition_delete",
    "definition_deploy",
    "definition_resume",
    "definition_set_history_ttl",
    "definition_suspend",
    "deployment_delete",
    "definition_grant",
    "definition_revoke",
    "history_append",
    "incident_retry",
    "job_reschedule",
    "job_set_retries",
    "instance_continue_async",
    "instance_cancel",
    "external_task_complete",
    "external_tasks",
    "instance_complete_step",
    "instance_fire_timer",
    "instance_force_complete_step",
    "instance_resume",
    "instance_set_variables",
    "instance_start",
    "instance_start_by_timer",
    "instance_suspend",
    "instance_throw_error",
    "instance_throw_escalation",
    "lock_instance",
    "message_correlate",
    "register_human_step_completer",
    "signal_broadcast",
    "specs_for",
    "step_complete",
    "user_may_force_complete",
    "waiting_element_ids",
]
