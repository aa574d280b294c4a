"""Services: every change to definitions and instances, each in one transaction.

The one rule of state: a service that changes an instance locks its row
(``select_for_update``), loads the engine state, applies the action, runs the
engine until the workflow waits, syncs waiting points to rows, appends history
and saves the state, all inside one ``transaction.atomic`` block.

Lock order: when several instances are locked in one transaction (message
correlation, signals) they are locked in ascending id order.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from bpm.exceptions import Conflict, InvalidInput
from notifications import services as notifications
from tasks import sync as human_tasks

from . import schedules
from . import variables as variable_rules
from .choices import DeploySource, HistoryKind, InstanceStatus, ResourceKind
from .engine import parser as engine_parser
from .engine import runtime
from .exceptions import (
    AmbiguousCorrelation,
    DefinitionInvalidError,
    DefinitionNotFound,
    DuplicateBusinessKey,
    ForceCompleteRefused,
    InstanceNotActive,
    InstanceNotFound,
    InstanceSuspended,
    InvalidGrant,
    MessageAlreadyCorrelated,
    NothingWaitsForMessage,
    StepNotCompletable,
    StepNotWaiting,
)
from .models import (
    OPEN_STATUSES,
    CorrelatedMessage,
    DecisionDefinition,
    Deployment,
    HistoryEvent,
    Incident,
    Job,
    JobStatus,
    ProcessDefinition,
    ProcessInstance,
    Resource,
    WaitingStep,
)

# ---------------------------------------------------------------------------
# Deploying


@dataclass
class DeployResult:
    """What a deployment created, and what it found unchanged."""

    deployment: Deployment | None
    created: list[ProcessDefinition] = field(default_factory=list)
    unchanged: list[ProcessDefinition] = field(default_factory=list)
    decisions_created: list[DecisionDefinition] = field(default_factory=list)
    compatibility: list[dict] = field(default_factory=list)

    @property
    def changed_anything(self) -> bool:
        return bool(self.created or self.decisions_created)

    @property
    def message(self) -> str:
        if not self.changed_anything:
            keys = ", ".join(f"{d.key} v{d.version}" for d in self.unchanged)
            return f"Nothing new: the files are identical to the deployed versions ({keys})."
        created = ", ".join(f"{d.key} v{d.version}" for d in self.created)
        return f"Deployed {created}." if created else "Deployed new decision versions."


def _scan_dependencies(files: list[engine_parser.SourceFile]) -> tuple[set[str], set[str], set[str], set[str]]:
    """Return (called processes, called decisions, defined processes, defined decisions), tolerating bad files."""
    called_p, called_d, defined_p, defined_d = set(), set(), set(), set()
    for source in files:
        try:
            tree = engine_parser.read_xml(source, settings.BPM["MAX_UPLOAD_BYTES"])
            kind = engine_parser.kind_of(tree)
        except engine_parser.DefinitionInvalid:
            continue  # validate_bundle reports it
        if kind == "bpmn":
            called_p |= engine_parser.called_processes(tree)
            called_d |= engine_parser.called_decisions(tree)
            defined_p |= {pid for pid, _, _ in engine_parser.process_ids(tree)}
        else:
            defined_d |= engine_parser.decision_ids(tree)
    return called_p, called_d, defined_p, defined_d


def _resource_file(resource: Resource) -> engine_parser.SourceFile:
    # Names are prefixed with the resource id: two deployments may hold files of the same name.
    return engine_parser.SourceFile(f"{resource.pk}:{resource.name}", resource.content.encode("utf-8"))


def _deployed_dependencies(
    called_processes: set[str], called_decisions: set[str]
) -> tuple[dict[str, engine_parser.SourceFile], dict[str, engine_parser.SourceFile], list[Resource]]:
    """Files of the active versions of called processes (and what they need), and of called decisions."""
    processes: dict[str, engine_parser.SourceFile] = {}
    decisions: dict[str, engine_parser.SourceFile] = {}
    resources: list[Resource] = []
    pending = set(called_processes)
    seen: set[str] = set()
    while pending:
        key = pending.pop()
        seen.add(key)
        definition = (
            ProcessDefinition.objects.filter(key=key, is_active=True)
            .select_related("resource")
            .prefetch_related("dependencies")
            .first()
        )
        if definition is None:
            continue
        for res in [definition.resource, *definition.dependencies.all()]:
            if res not in resources:
                resources.append(res)
        processes[key] = _resource_file(definition.resource)
        for dep in definition.dependencies.all():
            if dep.kind == ResourceKind.BPMN:
                processes.setdefault(f"resource:{dep.pk}", _resource_file(dep))
            else:
                decisions.setdefault(f"resource:{dep.pk}", _resource_file(dep))
    for key in called_decisions:
        decision = DecisionDefinition.objects.filter(key=key).select_related("resource").order_by("-version").first()
        if decision is not None:
            decisions[key] = _resource_file(decision.resource)
            if decision.resource not in resources:
                resources.append(decision.resource)
    return processes, decisions, resources


def _checksum(*parts: bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part)
    return digest.hexdigest()


def definition_deploy(
    *,
    files: Iterable[tuple[str, bytes]],
    user=None,
    source: str = DeploySource.WEB,
    name: str = "",
) -> DeployResult:
    """Validate and deploy BPMN/DMN files together; identical files create nothing new.

    Raises DefinitionInvalidError (nothing stored) listing each problem with file, element and line.
    """
    sources = [engine_parser.SourceFile(file_name, engine_parser.as_utf8(content)) for file_name, content in files]
    called_p, called_d, defined_p, defined_d = _scan_dependencies(sources)
    deployed_p, deployed_d, dep_resources = _deployed_dependencies(called_p - defined_p, called_d - defined_d)
    try:
        report = engine_parser.validate_bundle(
            sources,
            deployed_processes=deployed_p,
            deployed_decisions=deployed_d,
            scripts_enabled=settings.BPM["SCRIPT_TASKS_ENABLED"],
            max_bytes=settings.BPM["MAX_UPLOAD_BYTES"],
        )
    except engine_parser.DefinitionInvalid as exc:
        raise DefinitionInvalidError(
            "The files cannot be deployed: " + "; ".join(str(p) for p in exc.problems[:5]),
            details=[p.as_dict() for p in exc.problems],
        ) from exc

    compatibility = [note.as_dict() for note in report.compatibility]
    with transaction.atomic():
        executable = [info for info in report.processes.values() if info.executable]
        # Lock the current versions of these keys so two deploys of one key number versions in turn.
        latest_by_key: dict[str, ProcessDefinition] = {}
        for definition in (
            ProcessDefinition.objects.select_for_update()
            .filter(key__in=[i.key for i in executable])
            .order_by("key", "-version")
        ):
            latest_by_key.setdefault(definition.key, definition)
        file_by_name = {f.name: f for f in report.bpmn_files + report.dmn_files}
        dmn_checksum = _checksum(*sorted(f.checksum.encode() for f in report.dmn_files))
        checksums = {info.key: _checksum(file_by_name[info.file].content, dmn_checksum.encode()) for info in executable}
        changed = [
            i
            for i in executable
            if latest_by_key.get(i.key) is None or latest_by_key[i.key].checksum != checksums[i.key]
        ]
        latest_decisions = {
            d.key: d
            for d in DecisionDefinition.objects.filter(key__in=list(report.decisions)).order_by("key", "-version")
            if True
        }
        dmn_changed = [
            key
            for key, fname in report.decisions.items()
            if key not in latest_decisions or latest_decisions[key].checksum != file_by_name[fname].checksum
        ]
        result = DeployResult(deployment=None, compatibility=compatibility)
        if not changed and not dmn_changed:
            result.unchanged = [latest_by_key[i.key] for i in executable]
            return result

        deployment = Deployment.objects.create(
            name=name or ", ".join(f.name for f in sources),
            source=source,
            deployed_by=user if getattr(user, "is_authenticated", False) else None,
            dialect=report.dialect,
            compatibility=compatibility,
        )
        resources = {
            f.name: Resource.objects.create(
                deployment=deployment,
                name=f.name,
                kind=ResourceKind.BPMN if f in report.bpmn_files else ResourceKind.DMN,
                content=f.content.decode("utf-8"),
                checksum=f.checksum,
            )
            for f in report.bpmn_files + report.dmn_files
        }
        result.deployment = deployment
        deployer = deployment.deployed_by
        for info in executable:
            if info not in changed:
                result.unchanged.append(latest_by_key[info.key])
                continue
            previous = latest_by_key.get(info.key)
            if previous is not None:
                ProcessDefinition.objects.filter(key=info.key, is_active=True).update(is_active=False)
            own = resources[info.file]
            definition = ProcessDefinition.objects.create(
                key=info.key,
                version=(previous.version + 1) if previous else 1,
                name=info.name,
                deployment=deployment,
                resource=own,
                checksum=checksums[info.key],
                dialect=report.dialect,
                elements=info.elements,
                compatibility=[n for n in compatibility if n["file"] == info.file],
                has_message_start=info.has_message_start,
                has_timer_start=info.has_timer_start,
                is_active=True,
                deployed_by=deployer,
            )
            definition.dependencies.set([r for r in resources.values() if r != own] + dep_resources)
            if definition.has_timer_start:
                schedules.schedule_definition(definition)
            result.created.append(definition)
        for key in dmn_changed:
            previous = latest_decisions.get(key)
            result.decisions_created.append(
                DecisionDefinition.objects.create(
                    key=key,
                    version=(previous.version + 1) if previous else 1,
                    name=key,
                    deployment=deployment,
                    resource=resources[report.decisions[key]],
                    checksum=resources[report.decisions[key]].checksum,
                )
            )
    return result


def definition_activate(*, definition: ProcessDefinition, user=None) -> ProcessDefinition:
    """Make this version the one new instances of its key start on (revert to an older version)."""
    with transaction.atomic():
        list(ProcessDefinition.objects.select_for_update().filter(key=definition.key))
        ProcessDefinition.objects.filter(key=definition.key, is_active=True).exclude(pk=definition.pk).update(
            is_active=False
        )
        ProcessDefinition.objects.filter(pk=definition.pk).update(is_active=True)
        if definition.has_timer_start:
            schedules.schedule_definition(definition)
        else:
            Job.objects.filter(kind="start_timer", status=JobStatus.PENDING, definition__key=definition.key).delete()
    definition.is_active = True
    return definition


# ---------------------------------------------------------------------------
# Running instances


def _spec_source(definition: ProcessDefinition) -> runtime.SpecSource:
    bpmn = [_resource_file(definition.resource)]
    dmn = []
    for dep in definition.dependencies.all():
        (bpmn if dep.kind == ResourceKind.BPMN else dmn).append(_resource_file(dep))
    return runtime.SpecSource(definition.key, definition.dialect, bpmn, dmn)


def specs_for(definition: ProcessDefinition) -> runtime.Specs:
    """The parsed spec of a definition version, from the in-process cache."""
    return runtime.SPEC_CACHE.get(definition.pk, lambda: _spec_source(definition))


def _history(instance: ProcessInstance, kind: str, *, actor=None, element_id="", element_type="", name="", data=None):
    return HistoryEvent(
        instance=instance,
        definition_id=instance.definition_id,
        kind=kind,
        element_id=element_id,
        element_type=element_type,
        element_name=name[:255],
        data=data or {},
        actor=actor if getattr(actor, "is_authenticated", False) else None,
    )


_MISSING = object()


def _steps(keys: list[tuple[str, str]]) -> Q:
    """Match rows of the given (spiff task id, element id) pairs."""
    condition = Q()
    for spiff_task_id, element_id in keys:
        condition |= Q(spiff_task_id=spiff_task_id, element_id=element_id)
    return condition


def _known_rows(instance: ProcessInstance, **relations: list) -> None:
    """Fill related-object caches as ``prefetch_related`` would, from rows already in hand."""
    cache = instance.__dict__.setdefault("_prefetched_objects_cache", {})
    for name, rows in relations.items():
        queryset = getattr(instance, name).all()
        queryset._result_cache, queryset._prefetch_done = list(rows), True
        cache[name] = queryset


def _sync_jobs(instance: ProcessInstance, closed: list[tuple[str, str]], opened) -> None:
    """Pending jobs follow the timers and service tasks the instance waits on (same transaction)."""
    if closed:
        Job.objects.filter(_steps(closed), instance=instance, status=JobStatus.PENDING).delete()
    new_jobs = [
        Job(instance=instance, kind="timer", spiff_task_id=w.spiff_task_id, element_id=w.element_id, due_at=w.due_at)
        for w in opened
        if w.kind == "timer" and w.due_at is not None
    ]
    for w in opened:
        if w.kind == "service":  # the connector call runs as a job, outside this transaction
            retries = ((instance.definition.elements or {}).get(w.element_id, {}).get("connector") or {}).get("retries")
            new_jobs.append(
                Job(
                    instance=instance,
                    kind="service",
                    spiff_task_id=w.spiff_task_id,
                    element_id=w.element_id,
                    due_at=timezone.now(),
                    max_attempts=1 + (retries if retries is not None else settings.BPM["SERVICE_RETRIES"]),
                )
            )
    if new_jobs:
        Job.objects.bulk_create(new_jobs)


@notifications.batched_subscription_reads()
def _apply_outcome(
    instance: ProcessInstance,
    run: runtime.Run,
    *,
    actor=None,
    events: list[HistoryEvent] | None = None,
    new: bool = False,
    completed_step: str | None = None,
) -> ProcessInstance:
    """Steps 3-5 of the one rule: sync waiting points, append history, save the state."""
    outcome = run.outcome()
    events = list(events or [])
    previous_status = instance.status
    instance.state = outcome.state
    if outcome.variables != instance.variables and not new:
        before = instance.variables or {}
        changed = {k: v for k, v in outcome.variables.items() if before.get(k, _MISSING) != v}
        removed = sorted(k for k in before if k not in outcome.variables)
        events.append(
            _history(
                instance, HistoryKind.VARIABLES_CHANGED, actor=actor, data={"changed": changed, "removed": removed}
            )
        )
    instance.variables = outcome.variables
    instance.status = outcome.status
    instance.error_message = outcome.error_message
    instance.error_element_id = outcome.error_element_id
    if outcome.status == InstanceStatus.COMPLETED:
        instance.ended_at = timezone.now()
    if new:
        instance.process_key = instance.definition.key  # every way of starting gets it
        instance.save()
    else:
        instance.save(
            update_fields=[
                "state",
                "variables",
                "status",
                "error_message",
                "error_element_id",
                "ended_at",
                "updated_at",
            ]
        )

    for step in outcome.steps:
        events.append(
            _history(
                instance,
                HistoryKind.STEP_COMPLETED,
                actor=actor,
                element_id=step.element_id,
                element_type=step.element_type,
                name=step.name,
                data=None if step.duration_s is None else {"duration_s": round(step.duration_s, 3)},
            )
        )
    if outcome.steps:
        notifications.steps_completed(instance, outcome.steps)
    # The rows mirror what the engine waited on before the action (``run.waiting_before``),
    # so the diff needs no query: delete what closed, insert what opened.
    existing = set() if new else run.waiting_before
    current = {(w.spiff_task_id, w.element_id): w for w in outcome.waiting}
    closed = [key for key in existing if key not in current]
    if closed:
        WaitingStep.objects.filter(_steps(closed), instance=instance).delete()
    opened = [w for key, w in current.items() if key not in existing]
    human_tasks.close_tasks(instance=instance, closed=closed, completed_spiff_task_id=completed_step, actor=actor)
    _sync_jobs(instance, closed, opened)
    human_tasks.open_tasks(instance=instance, points=opened, variables=outcome.variables)
    inserted: list[WaitingStep] = []
    if opened:
        inserted = WaitingStep.objects.bulk_create(
            [
                WaitingStep(
                    instance=instance,
                    spiff_task_id=w.spiff_task_id,
                    element_id=w.element_id,
                    element_type=w.element_type,
                    name=w.name[:255],
                    kind=w.kind,
                    event_name=w.event_name[:255],
                    due_at=w.due_at,
                )
                for w in opened
            ]
        )
        for w in opened:
            events.append(
                _history(
                    instance,
                    HistoryKind.STEP_ENTERED,
                    actor=actor,
                    element_id=w.element_id,
                    element_type=w.element_type,
                    name=w.name,
                    data={"kind": w.kind},
                )
            )
    if new:
        # A new instance waits exactly where the rows were just inserted and has no incident
        # yet: the response reads both from here instead of asking the database again.
        _known_rows(instance, waiting_steps=inserted, incidents=[])
    if outcome.status != previous_status or new:
        if outcome.status == InstanceStatus.COMPLETED:
            events.append(_history(instance, HistoryKind.INSTANCE_COMPLETED, actor=actor))
            notifications.instance_event(
                "workflow.instance.completed",
                instance,
                notify_initiator=True,
                extra={"ended_at": instance.ended_at.isoformat()},
            )
        elif outcome.status == InstanceStatus.ERROR:
            notifications.instance_event(
                "workflow.instance.failed", instance, extra={"error": outcome.error_message[:500]}
            )
            events.append(
                _history(
                    instance,
                    HistoryKind.INSTANCE_ERRORED,
                    actor=actor,
                    element_id=outcome.error_element_id,
                    data={"error": outcome.error_message},
                )
            )
    HistoryEvent.objects.bulk_create(events)
    if new:
        notifications.instance_event("workflow.instance.started", instance)
    if outcome.unhandled_events:
        _deliver_thrown_events(instance, outcome.unhandled_events, user=actor)
    return instance


# Messages and signals thrown by one instance reach other instances in the same transaction,
# so either every instance involved changes or none does. A chain of deliveries stops here:
_MAX_DELIVERY_DEPTH = 10
_delivery_depth = threading.local()


def _deliver_thrown_events(sender: ProcessInstance, events: list[dict], *, user=None) -> None:
    """Deliver what an instance threw and did not catch itself: messages to the instances
    waiting for them (those with the sender's business key when it has one) or to a process
    whose start event catches them; signals to every instance waiting for them."""
    depth = getattr(_delivery_depth, "value", 0)
    if depth >= _MAX_DELIVERY_DEPTH:
        return
    _delivery_depth.value = depth + 1
    try:
        for event in events:
            if event["kind"] == "message" and event["name"]:
                waiting = WaitingStep.objects.filter(
                    kind="message", event_name=event["name"], instance__status=InstanceStatus.RUNNING
                ).exclude(instance=sender)
                if sender.business_key:
                    waiting = waiting.filter(instance__business_key=sender.business_key)
                targets = sorted(set(waiting.values_list("instance_id", flat=True)))
                for pk in targets:
                    _deliver_message(pk, event["name"], event["payload"], user)
                if not targets:
                    for definition in _message_start_definitions(event["name"]):
                        started = instance_start(definition=definition, business_key=sender.business_key, user=user)
                        _deliver_message(started.pk, event["name"], event["payload"], user)
            elif event["kind"] == "signal" and event["name"]:
                _broadcast(event["name"], event["payload"], user, exclude=sender.pk)
    finally:
        _delivery_depth.value = depth


def _message_start_definitions(message_name: str) -> list[ProcessDefinition]:
    return [
        d
        for d in ProcessDefinition.objects.filter(is_active=True, has_message_start=True)
        if any(e.get("type") == "startEvent" and e.get("message") == message_name for e in d.elements.values())
    ]


def _resolve_definition(definition: ProcessDefinition | None, key: str | None) -> ProcessDefinition:
    if definition is not None:
        return definition
    found = ProcessDefinition.objects.filter(key=key, is_active=True).first()
    if found is None:
        raise DefinitionNotFound(f"No deployed process with key '{key}'")
    return found


def instance_start(
    *,
    definition: ProcessDefinition | None = None,
    key: str | None = None,
    variables: dict[str, Any] | None = None,
    business_key: str = "",
    user=None,
) -> ProcessInstance:
    """Start an instance (of the active version when given a key) and run it until it waits."""
    variable_rules.check(variables)
    definition = _resolve_definition(definition, key)
    specs = specs_for(definition)
    data = dict(variables or {})
    if getattr(user, "is_authenticated", False):
        data["initiator"] = user.get_username()
    try:
        return _start(definition, specs, data, business_key, user)
    except IntegrityError as exc:
        # the partial unique index decides, so concurrent starts cannot both win; no pre-check query
        if "instance_open_business_key_unique" not in str(exc):
            raise
        raise DuplicateBusinessKey(
            f"An open instance of '{definition.key}' already has business key '{business_key}'",
            details={"business_key": [f"'{business_key}' is in use by an open instance of {definition.key}."]},
        ) from None


def _start(definition: ProcessDefinition, specs, data: dict, business_key: str, user) -> ProcessInstance:
    with transaction.atomic():
        run = runtime.Run.start(specs, data)
        run.advance()
        instance = ProcessInstance(
            definition=definition,
            business_key=business_key or "",
            started_by=user if getattr(user, "is_authenticated", False) else None,
        )
        started = _history(
            instance,
            HistoryKind.INSTANCE_STARTED,
            actor=user,
            data={"variables": runtime.serializer.to_json_value(data)},
        )
        return _apply_outcome(instance, run, actor=user, events=[started], new=True)


def _refuse_suspended(instance: ProcessInstance) -> None:
    if instance.status == InstanceStatus.SUSPENDED:
        raise InstanceSuspended(f"Instance {instance.pk} is suspended: resume it first")


def _lock_instance(instance_id: int) -> ProcessInstance:
    """Lock the instance row (no join: a join costs the planner more than the cached definition)."""
    try:
        instance = ProcessInstance.objects.select_for_update().get(pk=instance_id)
    except ProcessInstance.DoesNotExist:
        raise InstanceNotFound(f"Instance {instance_id} does not exist") from None
    instance.definition = _definition(instance.definition_id)
    return instance


def _definition(definition_id: int) -> ProcessDefinition:
    """A definition version by id; versions never change after deploy except which one is active,
    which instance work does not read, so they are kept per process like their specs."""
    cached = _DEFINITIONS.get(definition_id)
    if cached is None:
        cached = ProcessDefinition.objects.get(pk=definition_id)
        if len(_DEFINITIONS) > 1024:
            _DEFINITIONS.clear()
        _DEFINITIONS[definition_id] = cached
    return cached


_DEFINITIONS: dict[int, ProcessDefinition] = {}


def _load_run(instance: ProcessInstance) -> runtime.Run:
    return runtime.Run.load(instance.state, specs_for(instance.definition))


def instance_complete_step(
    *, instance_id: int, spiff_task_id: str, data: dict[str, Any] | None = None, user=None
) -> ProcessInstance:
    """Complete a waiting user or manual task of an instance with data, then run until it waits."""
    variable_rules.check(data, field="data")
    with transaction.atomic():
        instance = _lock_instance(instance_id)
        _refuse_suspended(instance)
        if instance.status != InstanceStatus.RUNNING:
            raise InstanceNotActive(f"Instance {instance_id} is {instance.status}")
        run = _load_run(instance)
        try:
            run.complete_task(spiff_task_id, data)
        except runtime.EngineActionError as exc:
            raise StepNotWaiting(str(exc)) from exc
        return _apply_outcome(instance, run, actor=user, completed_step=str(spiff_task_id))


# Who completes a waiting step by hand. A human step follows the task rules (candidates, claim,
# four-eyes, an approval's decision with its record), which live in the tasks app above this
# layer: it registers them here in its AppConfig.ready().
_HUMAN_STEP_COMPLETER: list = []
HUMAN_STEP_KINDS = ("user", "manual")


def register_human_step_completer(completer) -> None:
    """``completer(instance_id=, spiff_task_id=, data=, user=)`` completes a human step under the task rules."""
    _HUMAN_STEP_COMPLETER[:] = [completer]


def step_complete(*, instance_id: int, spiff_task_id: str, data: dict[str, Any] | None = None, user) -> ProcessInstance:
    """Complete a waiting step on behalf of a person or system, under the rules of its kind.

    A user or manual task goes through the task rules; a service task waits for its connector
    job and events for their message, signal or timer, so neither is completed here."""
    step = WaitingStep.objects.filter(instance_id=instance_id, spiff_task_id=spiff_task_id).first()
    if step is None:
        raise StepNotWaiting(f"Instance {instance_id} does not wait at step {spiff_task_id}")
    if step.kind in HUMAN_STEP_KINDS and _HUMAN_STEP_COMPLETER:
        _HUMAN_STEP_COMPLETER[0](instance_id=instance_id, spiff_task_id=str(spiff_task_id), data=data, user=user)
        return ProcessInstance.objects.get(pk=instance_id)
    how = {
        "service": "its result comes from its connector job",
        "timer": "it fires when its timer is due",
        "message": f"it waits for the message '{step.event_name}' (correlate it)",
        "signal": f"it waits for the signal '{step.event_name}' (send it)",
    }.get(step.kind, "it waits for its event")
    raise StepNotCompletable(
        f"Step '{step.element_id}' is not completed by hand: {how}. "
        "An administrator can force-complete it with a reason.",
        details={"element_id": step.element_id, "kind": step.kind},
    )


def user_may_force_complete(user) -> bool:
    return bool(
        getattr(user, "is_authenticated", False)
        and (user.is_superuser or user.has_perm("processes.force_complete_step"))
    )


def instance_force_complete_step(
    *, instance_id: int, spiff_task_id: str, reason: str, data: dict[str, Any] | None = None, user
) -> ProcessInstance:
    """An administrator completes a waiting user, manual or service task without its rules
    (no claim, no four-eyes, no approval record), with a reason kept in the history."""
    if not user_may_force_complete(user):
        raise ForceCompleteRefused("Only administrators may force-complete a step.")
    if not (reason or "").strip():
        raise InvalidInput("Say why the step is force-completed.", details={"reason": ["A reason is required."]})
    with transaction.atomic():
        step = WaitingStep.objects.filter(instance_id=instance_id, spiff_task_id=spiff_task_id).first()
        if step is None:
            raise StepNotWaiting(f"Instance {instance_id} does not wait at step {spiff_task_id}")
        # Recorded before the step's own events, as the cause; a refusal below rolls it back.
        _history(
            _lock_instance(instance_id),
            HistoryKind.STEP_FORCE_COMPLETED,
            actor=user,
            element_id=step.element_id,
            element_type=step.element_type,
            name=step.name,
            data={"reason": reason.strip(), "variables": sorted((data or {}).keys())},
        ).save()
        return instance_complete_step(instance_id=instance_id, spiff_task_id=spiff_task_id, data=data, user=user)


def instance_cancel(*, instance_id: int, user=None, reason: str = "") -> ProcessInstance:
    """Cancel an open instance: its waiting points close and it ends as cancelled."""
    with transaction.atomic():
        instance = _lock_instance(instance_id)
        if instance.status not in OPEN_STATUSES:
            raise InstanceNotActive(f"Instance {instance_id} is already {instance.status}")
        run = _load_run(instance)
        run.cancel()
        Job.objects.filter(instance=instance, status__in=[JobStatus.PENDING, JobStatus.SUSPENDED]).delete()
        instance.state = run.outcome().state
        instance.status = InstanceStatus.CANCELLED
        instance.ended_at = timezone.now()
        instance.save(update_fields=["state", "status", "ended_at", "updated_at"])
        instance.waiting_steps.all().delete()
        human_tasks.cancel_all(instance=instance)
        notifications.instance_event("workflow.instance.cancelled", instance, extra={"reason": reason})
        HistoryEvent.objects.create(
            instance=instance,
            definition_id=instance.definition_id,
            kind=HistoryKind.INSTANCE_CANCELLED,
            data={"reason": reason},
            actor=user if getattr(user, "is_authenticated", False) else None,
        )
        return instance


def instance_suspend(*, instance_id: int, user=None, reason: str = "") -> ProcessInstance:
    """Pause a running instance: its timers and other jobs wait, its steps cannot be completed,
    messages and signals pass it by, until it is resumed."""
    with transaction.atomic():
        instance = _lock_instance(instance_id)
        if instance.status != InstanceStatus.RUNNING:
            raise InstanceNotActive(f"Instance {instance_id} is {instance.status}; only a running one can be suspended")
        instance.status = InstanceStatus.SUSPENDED
        instance.save(update_fields=["status", "updated_at"])
        Job.objects.filter(instance=instance, status=JobStatus.PENDING).update(status=JobStatus.SUSPENDED)
        _history(instance, HistoryKind.INSTANCE_SUSPENDED, actor=user, data={"reason": reason}).save()
        notifications.instance_event("workflow.instance.suspended", instance, extra={"reason": reason})
        return instance


def instance_resume(*, instance_id: int, user=None) -> ProcessInstance:
    """Let a suspended instance go on; timers that fell due meanwhile fire at the next tick."""
    with transaction.atomic():
        instance = _lock_instance(instance_id)
        if instance.status != InstanceStatus.SUSPENDED:
            raise InstanceNotActive(f"Instance {instance_id} is {instance.status}, not suspended")
        instance.status = InstanceStatus.RUNNING
        instance.save(update_fields=["status", "updated_at"])
        Job.objects.filter(instance=instance, status=JobStatus.SUSPENDED).update(status=JobStatus.PENDING)
        _history(instance, HistoryKind.INSTANCE_RESUMED, actor=user).save()
        notifications.instance_event("workflow.instance.resumed", instance)
        return instance


def instance_set_variables(
    *, instance_id: int, variables: dict[str, Any], remove: Iterable[str] = (), user=None
) -> ProcessInstance:
    """Change variables of an open instance (what its waiting steps will carry on with);
    recorded in the history with the old and new values."""
    variable_rules.check(variables, removing=tuple(remove))
    with transaction.atomic():
        instance = _lock_instance(instance_id)
        if instance.status not in OPEN_STATUSES:
            raise InstanceNotActive(f"Instance {instance_id} is {instance.status}; its variables are final")
        run = _load_run(instance)
        run.set_variables(runtime.serializer.to_json_value(dict(variables)), list(remove))
        status = instance.status
        instance = _apply_outcome(instance, run, actor=user)
        if status == InstanceStatus.SUSPENDED and instance.status == InstanceStatus.RUNNING:
            instance.status = status  # the outcome knows nothing of suspension
            instance.save(update_fields=["status"])
        return instance


def message_correlate(
    *,
    message_name: str,
    business_key: str = "",
    correlation_keys: dict[str, Any] | None = None,
    payload: dict[str, Any] | None = None,
    all_matches: bool = False,
    message_id: str = "",
    user=None,
) -> list[ProcessInstance]:
    """Deliver a message to the instance waiting for it, or start one whose start event catches it.

    Instances are matched on the message name, the business key and variables equal to
    ``correlation_keys``. Raises NothingWaitsForMessage (404) when none matches and
    AmbiguousCorrelation (409) when several do and ``all_matches`` is false. A ``message_id``
    is correlated at most once (MessageAlreadyCorrelated, 409, afterwards).
    """
    variable_rules.check(payload, field="payload")
    with transaction.atomic():
        if message_id:
            _claim_message_id(message_id, message_name)
        instances = _correlate(message_name, business_key, correlation_keys, payload, all_matches, user)
        if message_id:
            CorrelatedMessage.objects.filter(message_id=message_id).update(instance_ids=[i.pk for i in instances])
        return instances


def _claim_message_id(message_id: str, message_name: str) -> None:
    try:
        with transaction.atomic():
            CorrelatedMessage.objects.create(message_id=message_id, message_name=message_name)
    except IntegrityError:
        earlier = CorrelatedMessage.objects.filter(message_id=message_id).first()
        raise MessageAlreadyCorrelated(
            f"Message id '{message_id}' was already correlated"
            + (f" at {earlier.correlated_at.isoformat()} to instances {earlier.instance_ids}" if earlier else ""),
            details={"message_id": ["Already correlated; a message id is correlated at most once."]},
        ) from None


def _correlate(message_name, business_key, correlation_keys, payload, all_matches, user) -> list[ProcessInstance]:
    waiting = WaitingStep.objects.filter(
        kind="message", event_name=message_name, instance__status=InstanceStatus.RUNNING
    )
    if business_key:
        waiting = waiting.filter(instance__business_key=business_key)
    for var, value in (correlation_keys or {}).items():
        waiting = waiting.filter(**{f"instance__variables__{var}": value})
    instance_ids = sorted(set(waiting.values_list("instance_id", flat=True)))
    if not instance_ids:
        starters = [
            d
            for d in ProcessDefinition.objects.filter(is_active=True, has_message_start=True)
            if any(e.get("type") == "startEvent" and e.get("message") == message_name for e in d.elements.values())
        ]
        if not starters:
            raise NothingWaitsForMessage(f"No instance waits for message '{message_name}' with these keys")
        if len(starters) > 1 and not all_matches:
            raise AmbiguousCorrelation(f"{len(starters)} processes start on message '{message_name}'")
        started = []
        for definition in starters:
            instance = instance_start(definition=definition, business_key=business_key, user=user)
            started.append(_deliver_message(instance.pk, message_name, payload, user))
        return started
    if len(instance_ids) > 1 and not all_matches:
        raise AmbiguousCorrelation(
            f"{len(instance_ids)} instances wait for message '{message_name}'; narrow the keys or correlate all"
        )
    return [_deliver_message(pk, message_name, payload, user) for pk in instance_ids]


def _deliver_message(instance_id: int, message_name: str, payload, user) -> ProcessInstance:
    instance = _lock_instance(instance_id)
    run = _load_run(instance)
    if not run.send_message(message_name, payload):
        raise NothingWaitsForMessage(f"Instance {instance_id} no longer waits for message '{message_name}'")
    event = _history(
        instance, HistoryKind.MESSAGE_CORRELATED, actor=user, name=message_name, data={"payload": payload or {}}
    )
    return _apply_outcome(instance, run, actor=user, events=[event])


def signal_broadcast(*, signal_name: str, payload: dict[str, Any] | None = None, user=None) -> list[ProcessInstance]:
    """Deliver a signal to every instance waiting for it (in id order); returns the instances reached."""
    variable_rules.check(payload, field="payload")
    with transaction.atomic():
        return _broadcast(signal_name, payload, user)


def _broadcast(signal_name: str, payload, user, exclude: int | None = None) -> list[ProcessInstance]:
    waiting = WaitingStep.objects.filter(kind="signal", event_name=signal_name, instance__status=InstanceStatus.RUNNING)
    if exclude is not None:
        waiting = waiting.exclude(instance_id=exclude)
    reached = []
    for pk in sorted(set(waiting.values_list("instance_id", flat=True))):
        instance = _lock_instance(pk)
        run = _load_run(instance)
        if run.send_signal(signal_name, payload):
            event = _history(
                instance, HistoryKind.SIGNAL_RECEIVED, actor=user, name=signal_name, data={"payload": payload or {}}
            )
            reached.append(_apply_outcome(instance, run, actor=user, events=[event]))
    return reached


def waiting_element_ids(instance: ProcessInstance) -> list[str]:
    """Element ids of every started or waiting activity and event of an open instance."""
    return _load_run(instance).waiting_element_ids()


def lock_instance(instance_id: int) -> ProcessInstance:
    """Lock an instance row for the current transaction (for services of other apps that
    change an instance's tasks: they lock the instance first, then their own rows)."""
    return _lock_instance(instance_id)


def history_append(
    *, instance_id: int, definition_id: int, kind: str, actor=None, element_id: str = "", name: str = "", data=None
) -> HistoryEvent:
    """Append one history event to an instance (task actions, decisions)."""
    return HistoryEvent.objects.create(
        instance_id=instance_id,
        definition_id=definition_id,
        kind=kind,
        element_id=element_id,
        element_name=name[:255],
        data=data or {},
        actor=actor if getattr(actor, "is_authenticated", False) else None,
    )


def _grantee(kind: str, name: str):
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    model = get_user_model() if kind == "user" else Group
    lookup = {"username": name} if kind == "user" else {"name": name}
    try:
        return model.objects.get(**lookup)
    except model.DoesNotExist:
        raise InvalidGrant(f"No {kind} named '{name}'", details={"name": [f"No {kind} named '{name}'."]}) from None


def definition_grant(*, definition: ProcessDefinition, perm: str, kind: str, name: str) -> None:
    """Grant a user or group a right on a process (kept on the version; it covers every version of the key)."""
    from guardian.shortcuts import assign_perm

    from .selectors import GRANTABLE

    if perm not in GRANTABLE:
        raise InvalidGrant(f"Unknown right '{perm}'", details={"perm": [f"Choose one of {', '.join(GRANTABLE)}."]})
    assign_perm(f"processes.{perm}", _grantee(kind, name), definition)


def definition_revoke(*, definition: ProcessDefinition, perm: str, kind: str, name: str) -> None:
    """Remove a right from a user or group on every version of the process key."""
    from guardian.shortcuts import remove_perm

    grantee = _grantee(kind, name)
    with transaction.atomic():
        for version in ProcessDefinition.objects.filter(key=definition.key):
            remove_perm(f"processes.{perm}", grantee, version)


def instance_fire_timer(*, instance_id: int, spiff_task_id: str) -> bool:
    """Fire a due timer of an instance (called by the job runner inside its transaction).

    Returns False, changing nothing, when the timer no longer waits (it was interrupted,
    the instance ended, or the job ran before): running a job twice is harmless.
    """
    instance = _lock_instance(instance_id)
    _refuse_suspended(instance)
    if instance.status != InstanceStatus.RUNNING:
        return False
    run = _load_run(instance)
    try:
        run.fire_timer(spiff_task_id)
    except runtime.EngineActionError:
        return False
    _apply_outcome(instance, run)
    # A cycle timer still waiting after it fired wants a job for its next due time.
    for point in run.waiting():
        if point.spiff_task_id == str(spiff_task_id) and point.kind == "timer" and point.due_at is not None:
            Job.objects.create(
                instance=instance,
                kind="timer",
                spiff_task_id=point.spiff_task_id,
                element_id=point.element_id,
                due_at=point.due_at,
            )
    return True


def incident_retry(*, incident_id: int, user=None) -> Incident:
    """Run a failed job again (after its cause was fixed); the incident is resolved."""
    with transaction.atomic():
        incident = Incident.objects.select_for_update().select_related("job").get(pk=incident_id)
        if incident.resolved_at is not None:
            raise Conflict(f"Incident {incident_id} was already resolved")
        Job.objects.filter(pk=incident.job_id).update(
            status=JobStatus.PENDING, due_at=timezone.now(), attempts=0, lock_token="", locked_until=None
        )
        incident.resolved_at = timezone.now()
        incident.resolved_by = user if getattr(user, "is_authenticated", False) else None
        incident.save(update_fields=["resolved_at", "resolved_by"])
        notifications.instance_event(
            "workflow.incident.resolved",
            ProcessInstance.objects.select_related("definition").get(pk=incident.instance_id),
            extra={"incident": incident.pk, "element_id": incident.element_id},
        )
        history_append(
            instance_id=incident.instance_id,
            definition_id=ProcessInstance.objects.values_list("definition_id", flat=True).get(pk=incident.instance_id),
            kind=HistoryKind.INCIDENT_RESOLVED,
            actor=user,
            element_id=incident.element_id,
            data={"incident": incident.pk},
        )
        return incident


def instance_start_by_timer(*, job_id: int) -> ProcessInstance | None:
    """Run a due start-timer job (inside the job runner's transaction): start an instance of
    the definition, fire its timer start event at once, and schedule the next start."""
    job = Job.objects.select_related("definition").get(pk=job_id)
    definition = job.definition
    instance = None
    if definition is not None and definition.is_active:
        specs = specs_for(definition)
        run = runtime.Run.start(specs, {})
        run.prime_start_timer(job.element_id)
        run.advance()
        instance = ProcessInstance(definition=definition)
        started = _history(
            instance, HistoryKind.INSTANCE_STARTED, data={"by_timer": job.element_id, "due": job.due_at.isoformat()}
        )
        _apply_outcome(instance, run, events=[started], new=True)
        if job.remaining != 0:
            timer = (definition.elements.get(job.element_id) or {}).get("timer") or {}
            due = schedules.next_occurrence(timer, job.due_at)
            if due is not None:
                Job.objects.create(
                    kind="start_timer",
                    definition=definition,
                    element_id=job.element_id,
                    due_at=due,
                    remaining=job.remaining - 1 if job.remaining > 0 else -1,
                )
    return instance


def instance_throw_error(*, instance_id: int, spiff_task_id: str, code: str, message: str = "") -> bool:
    """Throw a BPMN error at a waiting service task (inside the job runner's transaction).
    Returns False, changing nothing, when no boundary or event subprocess catches the code."""
    instance = _lock_instance(instance_id)
    run = _load_run(instance)
    if not run.throw_error(spiff_task_id, code, message):
        return False
    _apply_outcome(instance, run)
    return True


def instance_throw_escalation(*, instance_id: int, spiff_task_id: str, code: str) -> bool:
    """Throw a BPMN escalation at a waiting user task (an SLA escalation step)."""
    instance = _lock_instance(instance_id)
    run = _load_run(instance)
    if not run.throw_error(spiff_task_id, code, escalation=True):
        return False
    _apply_outcome(instance, run)
    return True
