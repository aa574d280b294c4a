"""Human tasks: the inbox's row for every waiting user or manual task."""

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models

from processes.models import ProcessDefinition, ProcessInstance

from .choices import DelegationState, TaskStatus


class HumanTask(models.Model):
    """One user or manual task of an instance, opened and closed only by the engine sync step."""

    instance = models.ForeignKey(ProcessInstance, related_name="human_tasks", on_delete=models.CASCADE)
    # Denormalized from the instance so the inbox filters without joins.
    definition = models.ForeignKey(ProcessDefinition, related_name="+", on_delete=models.CASCADE, db_index=False)
    process_key = models.CharField(max_length=255)
    business_key = models.CharField(max_length=255, blank=True)
    spiff_task_id = models.UUIDField()
    element_id = models.CharField(max_length=255)
    kind = models.CharField(max_length=16, default="user")  # user or manual
    name = models.CharField(max_length=255)
    instructions = models.TextField(blank=True)
    form = models.JSONField(default=list, blank=True)  # camunda:formData fields
    # A Camunda Form's form-js JSON: the page renders it with form-js; `form` validates it.
    form_schema = models.JSONField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=TaskStatus.choices, default=TaskStatus.OPEN)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, related_name="+", on_delete=models.SET_NULL
    )
    # The person who delegated the task; it comes back to them when the delegate resolves it.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, related_name="+", on_delete=models.SET_NULL
    )
    # Who started the instance, copied so the four-eyes filter needs no join.
    initiator = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, related_name="+", on_delete=models.SET_NULL, db_index=False
    )
    # Approval tasks (camunda:properties approval=true): outcomes offered and four-eyes chain.
    is_approval = models.BooleanField(default=False)
    approval_chain = models.CharField(max_length=255, blank=True)
    # The approver a task was meant for when it went to their out-of-office substitute.
    substituted_for = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, related_name="+", on_delete=models.SET_NULL
    )
    delegation_state = models.CharField(max_length=16, choices=DelegationState.choices, blank=True, default="")
    # Data the delegate submitted when resolving; offered to the owner as the form's values.
    draft_data = models.JSONField(default=dict, blank=True)
    priority = models.IntegerField(default=50)
    due_at = models.DateTimeField(null=True, blank=True)
    follow_up_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    # SLA: set when the task passed its due date while open; how many escalation steps ran.
    sla_breached = models.BooleanField(default=False)
    escalation_level = models.PositiveIntegerField(default=0)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, related_name="+", on_delete=models.SET_NULL
    )

    class Meta:
        ordering = ["-priority", "created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["instance", "spiff_task_id"], name="human_task_unique_spiff_task")
        ]
        indexes = [
            models.Index(fields=["assignee", "status", "due_at"], name="task_assignee_status_due"),
            models.Index(fields=["status", "process_key", "due_at"], name="task_status_process_due"),
            models.Index(fields=["owner", "status"], name="task_owner_status"),
            # the default inbox order (due date, then priority), for the administrators' "All" view
            models.Index(fields=["status", "due_at", "-priority", "id"], name="task_status_due_priority"),
        ]
        permissions = [("view_all_tasks", "Can see and act on every task (administrators)")]

    def __str__(self) -> str:
        return f"{self.name} ({self.process_key} #{self.instance_id})"

    @property
    def is_open(self) -> bool:
        return self.status == TaskStatus.OPEN


class TaskCandidate(models.Model):
    """A user or a group that may claim a task (candidate users and candidate groups)."""

    task = models.ForeignKey(HumanTask, related_name="candidates", on_delete=models.CASCADE, db_index=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, db_index=False)
    group = models.ForeignKey(Group, null=True, blank=True, on_delete=models.CASCADE, db_index=False)
    # Candidate group names that matched no group are kept, so adding the group later works.
    group_name = models.CharField(max_length=150, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["user", "task"], name="candidate_user_task"),
            models.Index(fields=["group", "task"], name="candidate_group_task"),
            models.Index(fields=["task"], name="candidate_task"),
        ]

    def __str__(self) -> str:
        return f"candidate {self.user or self.group or self.group_name} of task {self.task_id}"


class TaskComment(models.Model):
    """A comment on a task, shown to everyone who can see the task."""

    task = models.ForeignKey(HumanTask, related_name="comments", on_delete=models.CASCADE)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    text = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"comment by {self.author} on task {self.task_id}"


class TaskFilter(models.Model):
    """A saved inbox filter (Camunda Tasklist's filters): the inbox's query string under a
    name, kept by its owner and shown to the members of the group it is shared with."""

    name = models.CharField(max_length=80)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, related_name="task_filters", on_delete=models.CASCADE)
    params = models.JSONField(default=dict)  # the inbox's query parameters, e.g. {"view": "group"}
    shared_with = models.ForeignKey(Group, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint(fields=["owner", "name"], name="task_filter_name_per_owner")]

    def __str__(self) -> str:
        return f"filter {self.name} of {self.owner}"


class TaskAttachment(models.Model):
    """A file attached to a task (Camunda's task attachments), kept in Django's storage; its
    type is what its content showed when it was accepted (tasks.attachments)."""

    task = models.ForeignKey(HumanTask, related_name="attachments", on_delete=models.CASCADE)
    name = models.CharField(max_length=200)
    file = models.FileField(upload_to="attachments/%Y/%m/")
    size = models.PositiveBigIntegerField()
    content_type = models.CharField(max_length=120)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.name} on task {self.task_id}"
