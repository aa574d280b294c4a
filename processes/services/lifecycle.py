"""The life of deployed versions: deleting deployments and versions (their instances only when
asked), suspending and resuming a version."""

from __future__ import annotations

from django.db import transaction

from bpm.exceptions import Conflict, InvalidInput

from ..choices import InstanceStatus
from ..engine import called
from ..engine.bpmn.metadata import MAX_TTL_DAYS
from ..models import DecisionDefinition, Deployment, ProcessDefinition, ProcessInstance
from .deploy import definition_activate


def deployment_delete(*, deployment: Deployment, cascade: bool = False) -> None:
    """Delete a deployment: its definitions, decisions and files; with ``cascade`` its
    instances (their tasks, jobs, history and incidents) too. Refused (409, nothing deleted)
    while instances exist without ``cascade``, or while processes of other deployments call
    its files. A key whose active version went becomes active at its highest version left
    (Camunda's latest)."""
    with transaction.atomic():
        definitions = ProcessDefinition.objects.filter(deployment=deployment)
        instances = ProcessInstance.objects.select_for_update().filter(definition__in=definitions)
        count = instances.count()
        if count and not cascade:
            raise Conflict(
                f"Deployment {deployment.pk} has {count} process instances: delete them first or ask for cascade",
                code="deployment_has_instances",
            )
        if (
            ProcessDefinition.objects.filter(dependencies__deployment=deployment)
            .exclude(deployment=deployment)
            .exists()
        ):
            raise Conflict(
                f"Deployment {deployment.pk} holds files that processes of other deployments call; delete those first",
                code="deployment_in_use",
            )
        keys = set(definitions.values_list("key", flat=True))
        instances.delete()
        for definition in definitions:
            definition.dependencies.clear()
        definitions.delete()
        DecisionDefinition.objects.filter(deployment=deployment).delete()
        deployment.delete()  # its files go with it
        for key in keys:
            left = ProcessDefinition.objects.filter(key=key)
            if not left.filter(is_active=True).exists() and left.exists():
                definition_activate(definition=left.order_by("-version").first())


def definition_delete(*, definition: ProcessDefinition, cascade: bool = False) -> None:
    """Delete one version of a process; with ``cascade`` its instances (their tasks, jobs,
    history and incidents) too. Refused (409, nothing deleted) while it has instances without
    ``cascade``, or while call activities of running instances run it. When it was the active
    version, the key's highest version left becomes active (Camunda's latest). Its files stay
    with their deployment."""
    with transaction.atomic():
        list(ProcessDefinition.objects.select_for_update().filter(key=definition.key))
        instances = ProcessInstance.objects.select_for_update().filter(definition=definition)
        count = instances.count()
        if count and not cascade:
            raise Conflict(
                f"Version {definition.version} of '{definition.key}' has {count} process instances: delete them "
                "first or ask for cascade",
                code="definition_has_instances",
            )
        # a running call records the version it runs in its instance's state (engine/called.py)
        recorded = f'"{called.CALLED_DEFINITION}": {definition.pk}'
        calling = ProcessInstance.objects.filter(status__in=(InstanceStatus.RUNNING, InstanceStatus.SUSPENDED))
        if calling.exclude(definition=definition).filter(state__icontains=recorded).exists():
            raise Conflict(
                f"Call activities of running instances run version {definition.version} of '{definition.key}'",
                code="definition_in_use",
            )
        was_active = definition.is_active
        instances.delete()
        definition.dependencies.clear()
        definition.delete()
        left = ProcessDefinition.objects.filter(key=definition.key)
        if was_active and left.exists():
            definition_activate(definition=left.order_by("-version").first())


def definition_suspend(*, definition: ProcessDefinition, include_instances: bool = False, user=None) -> int:
    """Suspend a version: nothing starts new instances of it (by hand, message, signal,
    condition or timer) until it is resumed; with ``include_instances`` its running instances
    are suspended too. Returns how many instances were suspended."""
    return _set_suspended(definition, True, include_instances, user)


def definition_resume(*, definition: ProcessDefinition, include_instances: bool = False, user=None) -> int:
    """Let a suspended version start instances again; with ``include_instances`` its suspended
    instances go on too. Returns how many instances were resumed."""
    return _set_suspended(definition, False, include_instances, user)


def _set_suspended(definition: ProcessDefinition, suspended: bool, include_instances: bool, user) -> int:
    """One command: the version and (when asked) its instances change together, or nothing does."""
    from .instances import instance_resume, instance_suspend

    with transaction.atomic():
        ProcessDefinition.objects.select_for_update().filter(pk=definition.pk).update(is_suspended=suspended)
        definition.is_suspended = suspended
        if not include_instances:
            return 0
        status = InstanceStatus.RUNNING if suspended else InstanceStatus.SUSPENDED
        ids = list(definition.instances.filter(status=status).order_by("pk").values_list("pk", flat=True))
        for instance_id in ids:
            if suspended:
                instance_suspend(instance_id=instance_id, user=user, reason=f"version {definition.version} suspended")
            else:
                instance_resume(instance_id=instance_id, user=user)
        return len(ids)


def definition_set_history_ttl(*, definition: ProcessDefinition, days: int | None, user=None) -> ProcessDefinition:
    """How long ended instances of this version are kept (None: BPM_HISTORY_TTL_DAYS)."""
    if days is not None and not 0 <= days <= MAX_TTL_DAYS:
        raise InvalidInput(
            f"The time to live is a number of days from 0 to {MAX_TTL_DAYS}",
            details={"days": [f"0 to {MAX_TTL_DAYS}."]},
        )
    ProcessDefinition.objects.filter(pk=definition.pk).update(history_ttl_days=days)
    definition.history_ttl_days = days
    return definition
