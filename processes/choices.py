from django.db import models


class InstanceStatus(models.TextChoices):
    RUNNING = "running", "Running"
    COMPLETED = "completed", "Completed"
    ERROR = "error", "Error"
    CANCELLED = "cancelled", "Cancelled"
    SUSPENDED = "suspended", "Suspended"


class ResourceKind(models.TextChoices):
    BPMN = "bpmn", "BPMN"
    DMN = "dmn", "DMN"
    FORM = "form", "Camunda Form"


class DeploySource(models.TextChoices):
    WEB = "web", "Web upload"
    API = "api", "REST API"
    COMMAND = "command", "Management command"


class WaitKind(models.TextChoices):
    USER = "user", "User task"
    MANUAL = "manual", "Manual task"
    SERVICE = "service", "Service task (its connector job)"
    EXTERNAL = "external", "External task (for a worker)"
    ASYNC = "async", "Asynchronous continuation (its job)"
    RECEIVE = "receive", "Receive task without a message (triggered by its step)"
    TIMER = "timer", "Timer"
    MESSAGE = "message", "Message"
    SIGNAL = "signal", "Signal"
    CONDITIONAL = "conditional", "Condition"
    OTHER = "other", "Other event"


class HistoryKind(models.TextChoices):
    INSTANCE_STARTED = "instance_started", "Instance started"
    INSTANCE_COMPLETED = "instance_completed", "Instance completed"
    INSTANCE_CANCELLED = "instance_cancelled", "Instance cancelled"
    INSTANCE_ERRORED = "instance_errored", "Instance errored"
    STEP_ENTERED = "step_entered", "Step entered"
    STEP_COMPLETED = "step_completed", "Step completed"
    STEP_FORCE_COMPLETED = "step_force_completed", "Step force-completed by an administrator"
    VARIABLES_CHANGED = "variables_changed", "Variables changed"
    MESSAGE_CORRELATED = "message_correlated", "Message correlated"
    SIGNAL_RECEIVED = "signal_received", "Signal received"
    TASK_CLAIMED = "task_claimed", "Task claimed"
    TASK_UNCLAIMED = "task_unclaimed", "Task unclaimed"
    TASK_DELEGATED = "task_delegated", "Task delegated"
    TASK_RESOLVED = "task_resolved", "Task resolved by the delegate"
    TASK_REASSIGNED = "task_reassigned", "Task reassigned"
    TASK_COMMENTED = "task_commented", "Comment added"
    TASK_UPDATED = "task_updated", "Task changed (due, follow-up, priority, name or candidates)"
    APPROVAL_DECIDED = "approval_decided", "Approval decided"
    SERVICE_CALLED = "service_called", "Service called"
    INCIDENT_RAISED = "incident_raised", "Incident raised"
    INCIDENT_RESOLVED = "incident_resolved", "Incident retried"
    TASK_REMINDED = "task_reminded", "Reminder before due"
    TASK_ESCALATED = "task_escalated", "Task escalated"
    INSTANCE_SUSPENDED = "instance_suspended", "Instance suspended"
    INSTANCE_RESUMED = "instance_resumed", "Instance resumed"
    JOB_CHANGED = "job_changed", "Job retries or due date changed"
    INSTANCE_MIGRATED = "instance_migrated", "Instance migrated to another version"
    INSTANCE_MODIFIED = "instance_modified", "Instance modified (activities cancelled or started)"
    DECISION_EVALUATED = "decision_evaluated", "Decision evaluated by a business rule task"


class JobStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
    SUSPENDED = "suspended", "Suspended with its instance"


class JobKind(models.TextChoices):
    """What a job does; each kind has one handler (processes.jobs; others register theirs)."""

    TIMER = "timer", "Timer"
    SERVICE = "service", "Service task call"
    START_TIMER = "start_timer", "Timer start event"
    ESCALATION = "escalation", "SLA escalation step"
    ASYNC = "async", "Asynchronous continuation"
    HISTORY_CLEANUP = "history_cleanup", "History clean-up asked for (Camunda's POST history/cleanup)"


class ConnectionAuth(models.TextChoices):
    NONE = "none", "None"
    BASIC = "basic", "Basic (username and password)"
    BEARER = "bearer", "Bearer token"
    API_KEY = "api_key", "API key header"
    OAUTH2 = "oauth2", "OAuth2 client credentials"


class BatchKind(models.TextChoices):
    """What a batch does to each instance of its selection (services/batches.py)."""

    MIGRATE = "migrate", "Migrate to another version"
    CANCEL = "cancel", "Cancel"
    SUSPEND = "suspend", "Suspend"
    RESUME = "resume", "Resume"
    SET_VARIABLES = "set_variables", "Set variables"
    DELETE = "delete", "Delete with its history"
    RETRY_INCIDENTS = "retry_incidents", "Retry incidents"


class BatchStatus(models.TextChoices):
    RUNNING = "running", "Running"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"
