"""Selectors: read definitions and instances, restricted to what a user may see."""

from __future__ import annotations

from django.db import connection
from django.db.models import Count, Q, QuerySet
from guardian.shortcuts import get_objects_for_user

from .choices import HistoryKind
from .models import HistoryEvent, ProcessDefinition, ProcessInstance

OBJECT_PERMS = ["processes.view_processdefinition", "processes.start_instance", "processes.own_process"]


def _keys_with_object_perm(user, perms: list[str]) -> QuerySet:
    objects = get_objects_for_user(user, perms, klass=ProcessDefinition, any_perm=True, accept_global_perms=False)
    return objects.values("key")


def definitions_visible_to(user) -> QuerySet[ProcessDefinition]:
    """Every version of the keys the user may see (a grant on any version covers the key)."""
    qs = ProcessDefinition.objects.all()
    if not getattr(user, "is_authenticated", False):
        return qs.none()
    if user.is_superuser or any(user.has_perm(p) for p in OBJECT_PERMS):
        return qs
    return qs.filter(key__in=_keys_with_object_perm(user, OBJECT_PERMS))


def _start_form(definition: ProcessDefinition) -> dict:
    for element in (definition.elements or {}).values():
        if element.get("type") == "startEvent" and element.get("scope") == definition.key:
            camunda = element.get("camunda") or {}
            if camunda.get("formFields"):
                return camunda
    return {}


def start_form_fields(definition: ProcessDefinition) -> list[dict]:
    """The form fields of the process's own start event (camunda:formData or a Camunda Form)."""
    return _start_form(definition).get("formFields") or []


def start_form_schema(definition: ProcessDefinition) -> dict | None:
    """The start event's Camunda Form (form-js JSON), rendered with form-js on the start page."""
    return _start_form(definition).get("formSchema")


def decisions_visible_to(user) -> QuerySet:
    """Decisions are visible with the processes deployed beside them; designers and those who
    see every process see every decision (a DMN may be deployed on its own)."""
    from .models import DecisionDefinition

    qs = DecisionDefinition.objects.select_related("resource")
    if not getattr(user, "is_authenticated", False):
        return qs.none()
    if user.is_superuser or user_can_deploy(user) or user.has_perm("processes.view_processdefinition"):
        return qs
    return qs.filter(deployment_id__in=definitions_visible_to(user).values("deployment_id"))


def decision_visible(user, key: str) -> bool:
    return decisions_visible_to(user).filter(key=key).exists()


def process_owners(key: str) -> list:
    """People holding ``own_process`` on any version of the key, directly or through a group."""
    from guardian.shortcuts import get_users_with_perms

    owners = {}
    for definition in ProcessDefinition.objects.filter(key=key):
        for user in get_users_with_perms(definition, only_with_perms_in=["own_process"], with_group_users=True):
            owners[user.pk] = user
    return list(owners.values())


def definitions_startable_by(user) -> QuerySet[ProcessDefinition]:
    """The active, unsuspended versions the user may start, by name (one query, not one per process)."""
    qs = definitions_visible_to(user).filter(is_active=True, is_suspended=False).order_by("name", "key")
    if not getattr(user, "is_authenticated", False):
        return qs.none()
    if user.is_superuser or user.has_perm("processes.start_instance"):
        return qs
    return qs.filter(key__in=_keys_with_object_perm(user, ["processes.start_instance"]))


def user_can_start(user, definition: ProcessDefinition) -> bool:
    """Start right: the global permission, or an object grant on any version of the key."""
    if not getattr(user, "is_authenticated", False):
        return False
    if user.is_superuser or user.has_perm("processes.start_instance"):
        return True
    return _keys_with_object_perm(user, ["processes.start_instance"]).filter(key=definition.key).exists()


def user_can_deploy(user) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.has_perm("processes.add_processdefinition"))


def user_can_change_instances(user) -> bool:
    """Correlate messages and send signals to any instance: the global change permission."""
    return bool(
        getattr(user, "is_authenticated", False)
        and (user.is_superuser or user.has_perm("processes.change_processinstance"))
    )


def user_can_manage_instance(user, instance: ProcessInstance) -> bool:
    """Cancel and other owner actions: global change permission or ownership of the process."""
    if not getattr(user, "is_authenticated", False):
        return False
    if user.is_superuser or user.has_perm("processes.change_processinstance"):
        return True
    return _keys_with_object_perm(user, ["processes.own_process"]).filter(key=instance.definition.key).exists()


def user_can_manage_definition(user, definition: ProcessDefinition) -> bool:
    """Suspend or resume a version: the global change permission or ownership of the process."""
    if not getattr(user, "is_authenticated", False):
        return False
    if user.is_superuser or user.has_perm("processes.change_processinstance"):
        return True
    return _keys_with_object_perm(user, ["processes.own_process"]).filter(key=definition.key).exists()


def instances_visible_to(user) -> QuerySet[ProcessInstance]:
    """Instances of processes the user owns or may view globally, and those the user started."""
    qs = ProcessInstance.objects.select_related("definition", "started_by")
    if not getattr(user, "is_authenticated", False):
        return qs.none()
    if user_sees_every_instance(user):
        return qs
    owned = _keys_with_object_perm(user, ["processes.own_process"])
    return qs.filter(Q(definition__key__in=owned) | Q(started_by=user))


def user_sees_every_instance(user) -> bool:
    """Administrators and holders of the global view permission see every instance."""
    return bool(
        getattr(user, "is_authenticated", False)
        and (user.is_superuser or user.has_perm("processes.view_processinstance"))
    )


def process_choices(user) -> list[tuple[str, str]]:
    """(key, name) of each active process the user may see, by name: a filter's options."""
    return list(definitions_visible_to(user).filter(is_active=True).order_by("name").values_list("key", "name"))


def definition_latest_list(user) -> QuerySet[ProcessDefinition]:
    """The active version of each key the user may see, with instance counts."""
    return (
        definitions_visible_to(user)
        .filter(is_active=True)
        .annotate(instance_count=Count("instances"))
        .select_related("deployed_by")
        .order_by("name", "key")
    )


def definition_versions(user, key: str) -> QuerySet[ProcessDefinition]:
    return definitions_visible_to(user).filter(key=key).select_related("deployed_by").order_by("-version")


def instance_history(instance: ProcessInstance) -> QuerySet[HistoryEvent]:
    return instance.history.select_related("actor").order_by("created_at", "id")


def definition_diff(old: ProcessDefinition, new: ProcessDefinition) -> dict:
    """Elements added, removed and changed between two versions (by element id)."""
    before, after = old.elements or {}, new.elements or {}
    changed = []
    for element_id in sorted(set(before) & set(after)):
        fields = sorted(
            k
            for k in set(before[element_id]) | set(after[element_id])
            if before[element_id].get(k) != after[element_id].get(k)
        )
        if fields:
            changed.append(
                {
                    "element_id": element_id,
                    "type": after[element_id].get("type"),
                    "name": after[element_id].get("name"),
                    "fields": {
                        f: {"before": before[element_id].get(f), "after": after[element_id].get(f)} for f in fields
                    },
                }
            )
    return {
        "from": {"id": old.pk, "version": old.version},
        "to": {"id": new.pk, "version": new.version},
        "added": [{"element_id": e, **after[e]} for e in sorted(set(after) - set(before))],
        "removed": [{"element_id": e, **before[e]} for e in sorted(set(before) - set(after))],
        "changed": changed,
        "xml_identical": old.resource.checksum == new.resource.checksum,
    }


def instance_diagram_marks(instance: ProcessInstance) -> dict:
    """Element ids to mark on the diagram: finished steps and current tokens."""
    finished = list(
        instance.history.filter(kind=HistoryKind.STEP_COMPLETED).values_list("element_id", flat=True).distinct()
    )
    current = list(instance.waiting_steps.values_list("element_id", flat=True))
    if instance.status == "error" and instance.error_element_id:
        current.append(instance.error_element_id)
    return {"finished": finished, "current": current}


GRANTABLE = {
    "view_processdefinition": "see the process and its instances' tasks",
    "start_instance": "start instances",
    "own_process": "own the process (all its instances and tasks)",
}


def definition_grants(key: str) -> list[dict]:
    """Object permissions granted on any version of a process key, to users and groups."""
    from django.contrib.contenttypes.models import ContentType
    from guardian.models import GroupObjectPermission, UserObjectPermission

    ids = [str(pk) for pk in ProcessDefinition.objects.filter(key=key).values_list("pk", flat=True)]
    content_type = ContentType.objects.get_for_model(ProcessDefinition)
    grants = []
    for model, kind, name_field in (
        (UserObjectPermission, "user", "user__username"),
        (GroupObjectPermission, "group", "group__name"),
    ):
        rows = model.objects.filter(content_type=content_type, object_pk__in=ids, permission__codename__in=GRANTABLE)
        for name, codename in rows.values_list(name_field, "permission__codename").distinct():
            grants.append({"kind": kind, "name": name, "perm": codename, "label": GRANTABLE[codename]})
    return sorted(grants, key=lambda g: (g["perm"], g["kind"], g["name"]))


def user_can_grant(user, definition: ProcessDefinition) -> bool:
    """Owners of a process and administrators manage who may see, start and own it."""
    return user_can_manage_instance(user, ProcessInstance(definition=definition))


def metrics_figures(now) -> dict:
    """Instances, jobs and incidents for /metrics (registered with integrations.health)."""
    from django.db.models import Count, Min, Q

    from .models import Incident, Job

    by_status = dict(ProcessInstance.objects.values_list("status").annotate(n=Count("id")).order_by())
    jobs = Job.objects.filter(status="pending").aggregate(
        pending=Count("id"), oldest_due=Min("due_at", filter=Q(due_at__lte=now))
    )
    lag = (now - jobs["oldest_due"]).total_seconds() if jobs["oldest_due"] else 0.0
    return {
        "instances_by_status": by_status,
        "instances_started": sum(by_status.values()),
        "jobs_pending": jobs["pending"],
        "job_lag_seconds": max(lag, 0.0),
        "incidents_open": Incident.objects.filter(resolved_at__isnull=True).count(),
    }


# What people do to instances (Camunda's user operation log): the history kinds a person causes.
OPERATION_KINDS = (
    HistoryKind.INSTANCE_STARTED,
    HistoryKind.INSTANCE_CANCELLED,
    HistoryKind.INSTANCE_SUSPENDED,
    HistoryKind.INSTANCE_RESUMED,
    HistoryKind.VARIABLES_CHANGED,
    HistoryKind.STEP_FORCE_COMPLETED,
    HistoryKind.TASK_REASSIGNED,
    HistoryKind.TASK_DELEGATED,
    HistoryKind.TASK_UPDATED,
    HistoryKind.INCIDENT_RESOLVED,
    HistoryKind.JOB_CHANGED,
    HistoryKind.APPROVAL_DECIDED,
    HistoryKind.INSTANCE_MIGRATED,
    HistoryKind.INSTANCE_MODIFIED,
)


def operation_log(user, *, instance_id=None, username="", kind="", after=None, before=None) -> QuerySet[HistoryEvent]:
    """Who did what to which instance, newest first, over the instances the user may see."""
    events = HistoryEvent.objects.filter(
        instance__in=instances_visible_to(user), kind__in=OPERATION_KINDS, actor__isnull=False
    ).select_related("actor", "instance__definition")
    if username:
        events = events.filter(actor__username=username)
    if kind:
        events = events.filter(kind=kind)
    return _newest_in(events, instance_id=instance_id, after=after, before=before)


def _newest_in(rows: QuerySet, *, instance_id=None, process_key="", element_id="", after=None, before=None):
    """The filters history queries share (instance, process, element, a time window), newest first."""
    if instance_id is not None:
        rows = rows.filter(instance_id=instance_id)
    if process_key:
        rows = rows.filter(instance__process_key=process_key)
    if element_id:
        rows = rows.filter(element_id=element_id)
    if after is not None:
        rows = rows.filter(created_at__gte=after)
    if before is not None:
        rows = rows.filter(created_at__lt=before)
    return rows.order_by("-created_at", "-id")


def instances_not_manageable(user, ids: list[int]) -> list[int]:
    """Of these instances, those the user may not cancel, migrate or change (batches)."""
    if not getattr(user, "is_authenticated", False):
        return list(ids)
    if user.is_superuser or user.has_perm("processes.change_processinstance"):
        return []
    owned = _keys_with_object_perm(user, ["processes.own_process"])
    allowed = set(ProcessInstance.objects.filter(pk__in=ids, definition__key__in=owned).values_list("pk", flat=True))
    return [i for i in ids if i not in allowed]


def instance_ids_matching(user, query: dict) -> list[int]:
    """The ids of visible instances a selection query names (definition, key, status, business key)."""
    qs = instances_visible_to(user)
    if query.get("definition_id"):
        qs = qs.filter(definition_id=query["definition_id"])
    if query.get("process_key"):
        qs = qs.filter(definition__key=query["process_key"])
    if query.get("status"):
        qs = qs.filter(status=query["status"])
    if query.get("business_key"):
        qs = qs.filter(business_key=query["business_key"])
    return list(qs.order_by("pk").values_list("pk", flat=True))


def batches_visible_to(user):
    """Batches the user started; all of them for those who may change any instance."""
    from .models import Batch

    qs = Batch.objects.select_related("created_by")
    if not getattr(user, "is_authenticated", False):
        return qs.none()
    if user.is_superuser or user.has_perm("processes.change_processinstance"):
        return qs
    return qs.filter(created_by=user)


HISTORY_KINDS = {
    "activities": (HistoryKind.STEP_ENTERED, HistoryKind.STEP_COMPLETED),
    "decisions": (HistoryKind.DECISION_EVALUATED,),
    "variables": (HistoryKind.VARIABLES_CHANGED,),
}


def history_across_instances(
    user, what: str, *, instance_id=None, process_key="", element_id="", after=None, before=None, name=""
) -> QuerySet[HistoryEvent]:
    """History events of one kind (activities, decisions, variables) over every instance the
    user may see, newest first. ``name``: a decision key, or a variable that changed."""
    events = HistoryEvent.objects.filter(
        instance__in=instances_visible_to(user), kind__in=HISTORY_KINDS[what]
    ).select_related("actor", "instance__definition")
    if name and what == "decisions":
        events = events.filter(data__decision=name)
    if name and what == "variables":
        named = Q(data__changed__has_key=name)
        if connection.features.supports_json_field_contains:  # PostgreSQL; SQLite (the demo) has no JSON contains
            named |= Q(data__removed__contains=[name])
        events = events.filter(named)
    return _newest_in(
        events, instance_id=instance_id, process_key=process_key, element_id=element_id, after=after, before=before
    )


def incidents_across_instances(
    user, *, instance_id=None, process_key="", element_id="", state="", after=None, before=None
):
    """Incidents of every instance the user may see, newest first; ``state``: open or resolved."""
    from .models import Incident

    incidents = Incident.objects.filter(instance__in=instances_visible_to(user)).select_related(
        "resolved_by", "job", "instance"
    )
    if state:
        incidents = incidents.filter(resolved_at__isnull=state == "open")
    return _newest_in(
        incidents, instance_id=instance_id, process_key=process_key, element_id=element_id, after=after, before=before
    )
