"""Definitions, instances, their waiting points and their history."""

from django.conf import settings
from django.db import models

from .choices import (  # noqa: F401 - ConnectionAuth and JobStatus are imported from here elsewhere too
    BatchKind,
    BatchStatus,
    ConnectionAuth,
    DeploySource,
    HistoryKind,
    InstanceStatus,
    JobKind,
    JobStatus,
    ResourceKind,
    WaitKind,
)


class Deployment(models.Model):
    """Record one upload of BPMN/DMN files, with who deployed it and the compatibility report."""

    name = models.CharField(max_length=255, blank=True)
    source = models.CharField(max_length=16, choices=DeploySource.choices, default=DeploySource.WEB)
    deployed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    deployed_at = models.DateTimeField(auto_now_add=True)
    dialect = models.CharField(max_length=16)
    compatibility = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-deployed_at", "-id"]

    def __str__(self) -> str:
        return f"Deployment {self.pk} ({self.name})"


class Resource(models.Model):
    """Keep one deployed file (BPMN or DMN) exactly as it was uploaded."""

    deployment = models.ForeignKey(Deployment, related_name="resources", on_delete=models.CASCADE)
    name = models.CharField(max_length=255)
    kind = models.CharField(max_length=8, choices=ResourceKind.choices)
    content = models.TextField()
    checksum = models.CharField(max_length=64, db_index=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["deployment", "name"], name="resource_unique_name")]

    def __str__(self) -> str:
        return self.name


class ProcessDefinition(models.Model):
    """Hold one version of a process, keyed by its BPMN process id."""

    key = models.CharField(max_length=255, db_index=True)
    version = models.PositiveIntegerField()
    name = models.CharField(max_length=255)
    deployment = models.ForeignKey(Deployment, related_name="definitions", on_delete=models.PROTECT)
    resource = models.ForeignKey(Resource, related_name="definitions", on_delete=models.PROTECT)
    # Other files this version's spec is built from (called processes, DMN), bound at deploy time.
    dependencies = models.ManyToManyField(Resource, related_name="dependents", blank=True)
    checksum = models.CharField(max_length=64)
    dialect = models.CharField(max_length=16)
    # Per element id: type, name, lane, documentation, Camunda/Spiff extension values.
    elements = models.JSONField(default=dict, blank=True)
    compatibility = models.JSONField(default=list, blank=True)
    has_message_start = models.BooleanField(default=False)
    has_timer_start = models.BooleanField(default=False)
    # camunda:versionTag of the process: calls with calledElementBinding="versionTag" find it
    version_tag = models.CharField(max_length=255, blank=True, default="", db_index=True)
    # Days an ended instance's history is kept (camunda:historyTimeToLive; none: BPM_HISTORY_TTL_DAYS)
    history_ttl_days = models.PositiveIntegerField(null=True, blank=True)
    # Suspended: no new instances (by hand, message, signal, condition or timer) until resumed
    is_suspended = models.BooleanField(default=False)
    # The version new instances of this key start on (the latest, unless a designer reverted).
    is_active = models.BooleanField(default=False)
    deployed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    deployed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["key", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["key", "version"], name="definition_unique_version"),
            models.UniqueConstraint(
                fields=["key"], condition=models.Q(is_active=True), name="definition_one_active_version"
            ),
        ]
        permissions = [
            ("start_instance", "Can start instances of the process"),
            ("own_process", "Owns the process (sees its instances and dashboards)"),
        ]

    def __str__(self) -> str:
        return f"{self.key} v{self.version}"

    def element(self, element_id: str, process_key: str = "", called_definition_id: int | None = None):
        """What this version records about one element, typed (processes.elements.Element);
        ``process_key`` names a process a call activity runs, whose element it is, and
        ``called_definition_id`` the version of it the call runs, when the run knows it."""
        from .elements import element_of

        if process_key and process_key != self.key:
            return element_of(self.called_elements(process_key, called_definition_id), element_id)
        return element_of(self.elements, element_id)

    def called_elements(self, process_key: str, called_definition_id: int | None = None) -> dict:
        """The element metadata of a called process: the version the call runs, else the one
        deployed with this version, else the active one (cached; versions never change)."""
        cache = self.__dict__.setdefault("_called_elements", {})
        cache_key = (process_key, called_definition_id)
        if cache_key not in cache:
            called = (
                (ProcessDefinition.objects.filter(pk=called_definition_id, key=process_key).first()
                 if called_definition_id else None)
                or ProcessDefinition.objects.filter(key=process_key, deployment_id=self.deployment_id).first()
                or ProcessDefinition.objects.filter(key=process_key, is_active=True).first()
            )  # fmt: skip
            cache[cache_key] = called.elements if called is not None else {}
        return cache[cache_key]

    @property
    def xml(self) -> str:
        return self.resource.content


class DecisionDefinition(models.Model):
    """Hold one version of a DMN decision, keyed by its decision id."""

    key = models.CharField(max_length=255, db_index=True)
    version = models.PositiveIntegerField()
    name = models.CharField(max_length=255, blank=True)
    deployment = models.ForeignKey(Deployment, related_name="decisions", on_delete=models.PROTECT)
    resource = models.ForeignKey(Resource, related_name="decisions", on_delete=models.PROTECT)
    checksum = models.CharField(max_length=64)
    deployed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["key", "-version"]
        constraints = [models.UniqueConstraint(fields=["key", "version"], name="decision_unique_version")]

    def __str__(self) -> str:
        return f"{self.key} v{self.version}"


OPEN_STATUSES = [InstanceStatus.RUNNING, InstanceStatus.ERROR, InstanceStatus.SUSPENDED]


class ProcessInstance(models.Model):
    """Keep one running or finished instance: its engine state, variables and status."""

    # Indexed through (definition, status).
    definition = models.ForeignKey(
        ProcessDefinition, related_name="instances", on_delete=models.PROTECT, db_index=False
    )
    business_key = models.CharField(max_length=255, blank=True, db_index=True)
    # The definition's key, copied so a business key can be unique among a process's open instances.
    process_key = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=16, choices=InstanceStatus.choices, default=InstanceStatus.RUNNING)
    # SpiffWorkflow's runtime state without the spec (see processes.engine.serializer).
    state = models.JSONField(default=dict)
    variables = models.JSONField(default=dict, blank=True)
    error_message = models.TextField(blank=True)
    error_element_id = models.CharField(max_length=255, blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, related_name="+", on_delete=models.SET_NULL
    )
    started_at = models.DateTimeField(auto_now_add=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        # Administrators only (the BPM Administrator role has it): complete a step without the
        # task rules, with a reason, recorded as such in the history.
        permissions = [("force_complete_step", "Can force-complete a waiting step")]
        indexes = [
            models.Index(fields=["definition", "status"]),
            # the SLA dashboards: started in a window, completed in a window, per process
            models.Index(fields=["process_key", "started_at"], name="instance_key_started"),
            models.Index(fields=["process_key", "status", "ended_at"], name="instance_key_status_ended"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["process_key", "business_key"],
                condition=models.Q(status__in=OPEN_STATUSES) & ~models.Q(business_key=""),
                name="instance_open_business_key_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.definition.key} #{self.pk}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def expression_context(self, variables: dict) -> dict:
        """Variables with what expressions read of the execution (execution.processBusinessKey)."""
        return {**variables, "execution_business_key": self.business_key or None}


class WaitingStep(models.Model):
    """Mirror one point where an instance waits: a user/manual task, a timer, a message or a signal.

    Rows are opened and closed only by the engine sync step inside the instance's
    transaction; human tasks get a richer row of their own in the tasks app.
    """

    # Indexed through the unique (instance, spiff_task_id, element_id) constraint.
    instance = models.ForeignKey(
        ProcessInstance, related_name="waiting_steps", on_delete=models.CASCADE, db_index=False
    )
    spiff_task_id = models.UUIDField()
    element_id = models.CharField(max_length=255)
    element_type = models.CharField(max_length=64)
    name = models.CharField(max_length=255, blank=True)
    kind = models.CharField(max_length=16, choices=WaitKind.choices)
    # Message or signal name, for correlation; empty for tasks and timers.
    event_name = models.CharField(max_length=255, blank=True)
    due_at = models.DateTimeField(null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # An external task (kind external, topic in event_name) is fetched and locked by a worker
    # (the Camunda external-task protocol, processes.services.external_tasks).
    priority = models.BigIntegerField(default=0)
    worker_id = models.CharField(max_length=255, blank=True)
    lock_expires_at = models.DateTimeField(null=True, blank=True)
    retries = models.IntegerField(null=True, blank=True)  # null: never failed
    error_message = models.TextField(blank=True)
    error_details = models.TextField(blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            # an event-based gateway is one engine task waiting on several elements
            models.UniqueConstraint(fields=["instance", "spiff_task_id", "element_id"], name="waiting_step_unique_task")
        ]
        indexes = [
            models.Index(fields=["kind", "event_name"]),
            # fetchAndLock: a topic's external tasks, highest priority first
            models.Index(
                fields=["event_name", "-priority", "created_at"],
                name="external_task_fetch",
                condition=models.Q(kind="external"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.element_id} of instance {self.instance_id}"


class HistoryEvent(models.Model):
    """Append-only record of what happened to an instance (never updated or deleted)."""

    instance = models.ForeignKey(ProcessInstance, related_name="history", on_delete=models.CASCADE)
    # Indexed through (definition, kind, created_at); fewer indexes keep the append cheap.
    definition = models.ForeignKey(ProcessDefinition, related_name="+", on_delete=models.CASCADE, db_index=False)
    kind = models.CharField(max_length=32, choices=HistoryKind.choices)
    element_id = models.CharField(max_length=255, blank=True)
    element_type = models.CharField(max_length=64, blank=True)
    element_name = models.CharField(max_length=255, blank=True)
    data = models.JSONField(default=dict, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, db_index=False
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["definition", "kind", "created_at"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.element_id}"


class Job(models.Model):
    """Background work due at a time (a timer today), written in the transaction that created it.

    Workers take due jobs with SELECT ... FOR UPDATE SKIP LOCKED and a lock that expires, so a
    job whose worker died is taken again; the job is marked done in the same transaction as the
    instance change it makes, so it takes effect once.
    """

    # Timers and service tasks belong to an instance; a timer start event's schedule to a definition.
    instance = models.ForeignKey(
        ProcessInstance, null=True, blank=True, related_name="jobs", on_delete=models.CASCADE, db_index=False
    )
    definition = models.ForeignKey(
        ProcessDefinition, null=True, blank=True, related_name="jobs", on_delete=models.CASCADE, db_index=False
    )
    kind = models.CharField(max_length=16, choices=JobKind.choices, default=JobKind.TIMER)
    spiff_task_id = models.UUIDField(null=True, blank=True)
    # start_timer: how many more starts the cycle allows after this one (-1: unbounded)
    remaining = models.IntegerField(default=0)
    element_id = models.CharField(max_length=255)
    due_at = models.DateTimeField()
    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    max_attempts = models.PositiveIntegerField(default=3)
    lock_token = models.CharField(max_length=64, blank=True)
    locked_until = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["due_at", "id"]
        indexes = [
            models.Index(fields=["status", "due_at"], name="job_status_due"),
            models.Index(fields=["instance", "spiff_task_id"], name="job_instance_task"),
        ]

    def __str__(self) -> str:
        owner = f"instance {self.instance_id}" if self.instance_id else f"definition {self.definition_id}"
        return f"{self.kind} {self.element_id} of {owner} due {self.due_at:%Y-%m-%d %H:%M:%S}"


class Incident(models.Model):
    """A job or an external task that ran out of retries: shown on the instance, retried by
    an administrator (or, for an external task, by setting its retries)."""

    instance = models.ForeignKey(ProcessInstance, related_name="incidents", on_delete=models.CASCADE)
    # A failed job, or an external task whose worker reported failure with no retries left.
    job = models.ForeignKey(Job, related_name="incidents", on_delete=models.CASCADE, null=True, blank=True)
    external_task_id = models.UUIDField(null=True, blank=True)
    element_id = models.CharField(max_length=255)
    message = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, related_name="+", on_delete=models.SET_NULL
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["resolved_at", "created_at"], name="incident_open_created")]

    def __str__(self) -> str:
        return f"Incident at {self.element_id} of instance {self.instance_id}"

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None


class Connection(models.Model):
    """A named external system service tasks call (``connection`` input): base URL and
    credentials, so a diagram never holds a URL or a secret. The secret is stored encrypted
    and never shown again."""

    name = models.SlugField(max_length=100, unique=True)
    base_url = models.URLField(max_length=500)
    auth = models.CharField(max_length=16, choices=ConnectionAuth.choices, default=ConnectionAuth.NONE)
    username = models.CharField(max_length=255, blank=True, help_text="Basic: the user; OAuth2: the client id")
    api_key_header = models.CharField(max_length=100, blank=True, default="X-API-Key")
    token_url = models.URLField(max_length=500, blank=True, help_text="OAuth2: the token endpoint")
    scope = models.CharField(max_length=500, blank=True)
    secret_encrypted = models.TextField(blank=True, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def has_secret(self) -> bool:
        return bool(self.secret_encrypted)


class BusinessCalendar(models.Model):
    """Named working time (bpm.calendars): hours per weekday, holidays, a time zone. A process
    that names one in its settings counts its tasks' due dates in it; a timer asks for one
    with the extension property ``calendar``."""

    name = models.CharField(max_length=100, unique=True)
    time_zone = models.CharField(max_length=64, default="Europe/Berlin")
    hours = models.JSONField(
        default=dict, blank=True, help_text='Per weekday, e.g. {"mon": ["09:00-12:00", "13:00-17:00"], "sat": []}'
    )
    holidays = models.JSONField(default=list, blank=True, help_text='Dates off, e.g. ["2026-12-25"]')

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        from bpm.calendars import CalendarError, WorkingTime

        try:
            WorkingTime.build(self.time_zone, self.hours, self.holidays)
        except CalendarError as error:
            raise ValidationError({error.field: str(error)}) from None


class ProcessSettings(models.Model):
    """Per process key: SLA targets and the escalation policy (docs/SLA.md)."""

    key = models.CharField(max_length=255, unique=True)
    # ISO 8601 durations
    default_task_due = models.CharField(
        max_length=50, blank=True, help_text="Due date for tasks the diagram gives none, e.g. P2D"
    )
    target_cycle_time = models.CharField(max_length=50, blank=True, help_text="Target from start to end, e.g. P5D")
    escalation_policy = models.JSONField(default=list, blank=True)
    calendar = models.ForeignKey(
        BusinessCalendar,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        help_text="Working time for its tasks' due and follow-up durations (P2D: two working days)",
    )

    class Meta:
        verbose_name_plural = "process settings"

    def __str__(self) -> str:
        return f"Settings of {self.key}"


class CorrelatedMessage(models.Model):
    """A message id already correlated: the same id is refused afterwards (at most once)."""

    message_id = models.CharField(max_length=255, unique=True)
    message_name = models.CharField(max_length=255)
    instance_ids = models.JSONField(default=list)
    correlated_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.message_name} {self.message_id}"


class Batch(models.Model):
    """One operation over many instances (Camunda's batch), run by workers a chunk at a time.

    The selection is fixed when the batch is created (a query is resolved to ids then);
    ``position`` is how far the workers got. A chunk is one transaction holding this row, so
    a worker that dies loses nothing: the chunk is done again (each item is idempotent)."""

    kind = models.CharField(max_length=20, choices=BatchKind.choices)
    status = models.CharField(max_length=12, choices=BatchStatus.choices, default=BatchStatus.RUNNING)
    params = models.JSONField(default=dict, blank=True)
    item_ids = models.JSONField(default=list)
    total = models.PositiveIntegerField(default=0)
    position = models.PositiveIntegerField(default=0)
    succeeded = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "updated_at"], name="batch_status_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} batch {self.pk}"

    @property
    def percent(self) -> int:
        return 100 if not self.total else int(100 * self.position / self.total)


class BatchFailure(models.Model):
    """One item a batch could not do, and why (the rest went on)."""

    batch = models.ForeignKey(Batch, related_name="failures", on_delete=models.CASCADE)
    item_id = models.BigIntegerField()
    message = models.TextField()
    details = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"Batch {self.batch_id}: instance {self.item_id}"


class ModelerDraft(models.Model):
    """A diagram a designer is drawing in the browser, kept per designer and process key until
    it is deployed (processes.modeler)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, related_name="modeler_drafts", on_delete=models.CASCADE)
    kind = models.CharField(max_length=8, default="bpmn")  # bpmn (a process) or dmn (decisions)
    key = models.CharField(max_length=255)  # the process id, or the first decision's id
    xml = models.TextField()
    opened_from = models.ForeignKey(
        "ProcessDefinition", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at"]
        constraints = [models.UniqueConstraint(fields=["user", "kind", "key"], name="modeler_draft_per_user_key")]

    def __str__(self) -> str:
        return f"draft of {self.key} by {self.user}"
