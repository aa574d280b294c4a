"""The rule of state, as its named steps: lock the instance, load its run, sync waiting points,
record history, emit events, save. Every command on an instance ends in ``apply_outcome``."""

from __future__ import annotations

import functools
import json
import logging
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models.expressions import RawSQL
from django.utils import timezone

from bpm import config, prepared, writes
from notifications import services as notifications

from .. import calendars, waiting
from ..choices import HistoryKind, InstanceStatus, JobKind, WaitKind
from ..engine import runtime
from ..exceptions import (
    CommandFailed,
    InstanceNotFound,
    InstanceSuspended,
    InstanceWouldStall,
)
from ..models import (
    HistoryEvent,
    Incident,
    Job,
    JobStatus,
    ProcessDefinition,
    ProcessInstance,
    WaitingStep,
)
from .deploy import specs_for

logger = logging.getLogger(__name__)


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


def _known_rows(instance: ProcessInstance, **relations: list) -> None:
    """Fill related-object caches as ``prefetch_related`` would, from rows already in hand."""
    cache = instance.__dict__.setdefault("_prefetched_objects_cache", {})
    for name, rows in relations.items():
        queryset = getattr(instance, name).all()
        queryset._result_cache, queryset._prefetch_done = list(rows), True
        cache[name] = queryset


def _sync_jobs(instance: ProcessInstance, closed: list[tuple[str, str]], opened) -> None:
    """Pending jobs follow the timers, service tasks and asynchronous continuations the instance
    waits on (same transaction): each opened point that a job moves on gets one."""
    if closed:
        writes.delete_rows(
            Job, {"instance": instance, "status": JobStatus.PENDING, ("spiff_task_id", "element_id"): closed}
        )
    writes.insert(job for job in (_job_for(instance, w) for w in opened) if job is not None)


def _job_for(instance: ProcessInstance, point) -> Job | None:
    if point.kind not in (WaitKind.TIMER, WaitKind.ASYNC, WaitKind.SERVICE):
        return None  # most points (user tasks, messages) have none: no row object built for them
    job = Job(instance=instance, spiff_task_id=point.spiff_task_id, element_id=point.element_id)
    if point.kind == WaitKind.TIMER and point.due_at is not None:
        job.kind, job.due_at = JobKind.TIMER, point.due_at
    elif point.kind == WaitKind.ASYNC:  # Camunda commits here; the job goes on from this point
        job.kind, job.due_at, job.max_attempts = JobKind.ASYNC, timezone.now(), settings.BPM["ASYNC_RETRIES"]
    elif point.kind == WaitKind.SERVICE:  # the connector call runs as a job, outside this transaction
        retries = instance.definition.element(point.element_id).connector.get("retries")
        job.kind, job.due_at = JobKind.SERVICE, timezone.now()
        job.max_attempts = 1 + (retries if retries is not None else settings.BPM["SERVICE_RETRIES"])
    else:
        return None
    return job


def _apply_outcome(
    instance: ProcessInstance,
    run: runtime.Run,
    *,
    actor=None,
    events: list[HistoryEvent] | None = None,
    new: bool = False,
    completed_step: str | None = None,
) -> ProcessInstance:
    """Steps 3-5 of the one rule, after the caller locked the row and ran the engine.

    A step that failed in the run (an expression, a script, a decision) fails the whole
    command: the caller's transaction rolls back, so the task stays open or the instance
    never started, as in Camunda. A job's failure thus retries and then becomes an incident.

    Its writes go out together (bpm/writes.py), and the configuration it reads comes from this
    process's cache when the token read with the instance says it is current (bpm/config.py)."""
    if new and instance.pk is None:
        _new_instance_key(instance)
    with config.versioned(getattr(instance, "config_token", None)), writes.deferred():
        return _apply(instance, run, actor=actor, events=events, new=new, completed_step=completed_step)


@notifications.batched_subscription_reads()
def _apply(instance, run, *, actor, events, new: bool, completed_step: str | None) -> ProcessInstance:
    outcome = run.outcome()
    if outcome.status == InstanceStatus.ERROR:
        raise CommandFailed(outcome.error_message, element_id=outcome.error_element_id)
    if outcome.status == InstanceStatus.RUNNING and not outcome.waiting:
        _refuse_stall(instance, outcome)
    history = list(events or [])
    previous_status = instance.status
    history += _save_state(instance, outcome, actor=actor, new=new)
    history += _record_steps(instance, outcome, actor=actor)
    history += [
        _history(
            instance,
            HistoryKind.DECISION_EVALUATED,
            actor=actor,
            element_id=d["element_id"],
            data={"decision": d["decision"], "results": d["results"]},
        )
        for d in outcome.decisions
    ]
    history += _sync_waiting_points(instance, run, outcome, actor=actor, new=new, completed_step=completed_step)
    if outcome.status != previous_status or new:
        history += _record_status(instance, outcome, actor=actor)
    writes.insert(history)
    if new:
        notifications.instance_event("workflow.instance.started", instance)
    if outcome.unhandled_events:
        from .correlation import _deliver_thrown_events  # it calls back into this step

        _deliver_thrown_events(instance, outcome.unhandled_events, user=actor)
    return instance


def _refuse_stall(instance: ProcessInstance, outcome) -> None:
    """The invariant checked at the end of every command: a running instance waits at a human
    task, an event, a job or an incident. An engine defect that breaks it fails the command
    (rolled back) rather than leaving an instance that runs and waits at nothing."""
    last = outcome.steps[-1].element_id if outcome.steps else ""
    definition = instance.definition
    logger.error(
        "Instance %s of %s v%s would wait at nothing after %s; command rolled back. Diagram files: %s. State: %s",
        instance.pk or "(new)",
        definition.key,
        definition.version,
        last or "its start",
        list(definition.deployment.resources.values_list("name", flat=True)) if definition.deployment_id else [],
        json.dumps(outcome.state)[:20000],
    )
    raise InstanceWouldStall(
        "The engine would leave the instance running but waiting at nothing (an engine defect, logged with the "
        "diagram and state); nothing was changed",
        element_id=last,
    )


def _save_state(instance: ProcessInstance, outcome, *, actor, new: bool) -> list[HistoryEvent]:
    """The engine state, variables and status onto the row (an INSERT for a new instance)."""
    events = []
    if outcome.variables != instance.variables and not new:
        before = instance.variables or {}
        changed = {k: v for k, v in outcome.variables.items() if before.get(k, _MISSING) != v}
        removed = sorted(k for k in before if k not in outcome.variables)
        events.append(
            _history(
                instance, HistoryKind.VARIABLES_CHANGED, actor=actor, data={"changed": changed, "removed": removed}
            )
        )
    instance.state = outcome.state
    instance.variables = outcome.variables
    instance.status = outcome.status
    instance.error_message = outcome.error_message
    instance.error_element_id = outcome.error_element_id
    if outcome.status == InstanceStatus.COMPLETED:
        instance.ended_at = timezone.now()
    if new:
        instance.process_key = instance.definition.key  # every way of starting gets it
        writes.insert([instance])
    else:
        writes.save_fields(
            instance,
            [
                "state",
                "variables",
                "status",
                "error_message",
                "error_element_id",
                "ended_at",
                "updated_at",
            ],
        )
    return events


def _record_steps(instance: ProcessInstance, outcome, *, actor) -> list[HistoryEvent]:
    """Each element the run completed, with how long it took; webhooks that ask for steps hear of them."""
    if outcome.steps:
        notifications.steps_completed(instance, outcome.steps)
    return [
        _history(
            instance,
            HistoryKind.STEP_COMPLETED,
            actor=actor,
            element_id=step.element_id,
            element_type=step.element_type,
            name=step.name,
            data=None if step.duration_s is None else {"duration_s": round(step.duration_s, 3)},
        )
        for step in outcome.steps
    ]


def _sync_waiting_points(
    instance: ProcessInstance, run: runtime.Run, outcome, *, actor, new: bool, completed_step: str | None
) -> list[HistoryEvent]:
    """Waiting-step rows, human tasks and jobs follow where the engine now waits.

    The rows mirror what the engine waited on before the action (``run.waiting_before``),
    so the diff needs no query: delete what closed, insert what opened."""
    existing = set() if new else run.waiting_before
    current = {(w.spiff_task_id, w.element_id, w.kind): w for w in outcome.waiting}
    closed = [key[:2] for key in existing if key not in current]
    if closed:
        writes.delete_rows(WaitingStep, {"instance": instance, ("spiff_task_id", "element_id"): closed})
    opened = [w for key, w in current.items() if key not in existing]
    _timers_in_working_time(instance, opened)
    waiting.closed(instance=instance, closed=closed, completed_spiff_task_id=completed_step, actor=actor)
    _sync_jobs(instance, closed, opened)
    waiting.opened(instance=instance, points=opened, variables=outcome.variables)
    inserted: list[WaitingStep] = []
    if opened:
        rows = [waiting_step_row(instance, w) for w in opened]
        if any(w.kind == WaitKind.EXTERNAL for w in opened):
            _open_external_tasks(instance, rows, outcome.variables)
        inserted = writes.insert(rows)
    if any(key[2] == WaitKind.EXTERNAL and key not in current for key in existing):
        _close_external_tasks(instance, [key for key in existing if key not in current], actor)
    if new:
        # A new instance waits exactly where the rows were just inserted and has no incident
        # yet: the response reads both from here instead of asking the database again.
        _known_rows(instance, waiting_steps=inserted, incidents=[])
    elif not any(key in current for key in existing):
        _known_rows(instance, waiting_steps=inserted)  # every earlier row closed: only the new ones are left
    return [
        _history(
            instance,
            HistoryKind.STEP_ENTERED,
            actor=actor,
            element_id=w.element_id,
            element_type=w.element_type,
            name=w.name,
            data={"kind": w.kind},
        )
        for w in opened
    ]


def _timers_in_working_time(instance: ProcessInstance, points) -> None:
    """A duration timer whose element names a business calendar (extension property
    ``calendar``) comes due in that working time: PT8H is one office day. Its job and its
    waiting-step row take that time; the job fires the timer (the engine waits for it)."""
    now = timezone.now()
    for point in points:
        if point.kind != WaitKind.TIMER or point.due_at is None:
            continue
        element = (instance.definition.elements or {}).get(point.element_id) or {}
        name = ((element.get("camunda") or {}).get("properties") or {}).get("calendar")
        if not name or (element.get("timer") or {}).get("kind") != "timeDuration":
            continue
        working = calendars.working_time_named(name)
        if working is None:
            raise CommandFailed(
                f"The timer '{point.element_id}' asks for the business calendar '{name}', which does not exist",
                element_id=point.element_id,
            )
        # the engine computed the due time moments ago in this command: whole seconds are the duration
        point.due_at = working.add(now, timedelta(seconds=round((point.due_at - now).total_seconds())))


def _open_external_tasks(instance: ProcessInstance, rows: list[WaitingStep], variables: dict) -> None:
    """External tasks get their priority, and workers waiting on their topics hear of them."""
    from . import external_tasks

    topics = []
    for row in rows:
        if row.kind == WaitKind.EXTERNAL:
            row.priority = external_tasks.priority_of(instance, row.element_id, variables)
            topics.append(row.event_name)
    transaction.on_commit(lambda: external_tasks.notify_available(topics))


def _close_external_tasks(instance: ProcessInstance, closed: list[tuple], actor) -> None:
    """An external task that ended (completed, cancelled, interrupted) takes its incident along."""
    from . import external_tasks

    ended = [spiff_task_id for spiff_task_id, _, kind in closed if kind == WaitKind.EXTERNAL]
    external_tasks.resolve_incidents(instance, ended, actor)


def waiting_step_row(instance: ProcessInstance, point) -> WaitingStep:
    """The row that mirrors one engine waiting point."""
    return WaitingStep(
        instance=instance,
        spiff_task_id=point.spiff_task_id,
        element_id=point.element_id,
        element_type=point.element_type,
        name=point.name[:255],
        kind=point.kind,
        event_name=point.event_name[:255],
        due_at=point.due_at,
    )


def _record_status(instance: ProcessInstance, outcome, *, actor) -> list[HistoryEvent]:
    """The instance completed or failed: its history event and its notification."""
    if outcome.status == InstanceStatus.COMPLETED:
        notifications.instance_event(
            "workflow.instance.completed",
            instance,
            notify_initiator=True,
            extra={"ended_at": instance.ended_at.isoformat()},
        )
        return [_history(instance, HistoryKind.INSTANCE_COMPLETED, actor=actor)]
    if outcome.status == InstanceStatus.ERROR:
        notifications.instance_event("workflow.instance.failed", instance, extra={"error": outcome.error_message[:500]})
        return [
            _history(
                instance,
                HistoryKind.INSTANCE_ERRORED,
                actor=actor,
                element_id=outcome.error_element_id,
                data={"error": outcome.error_message},
            )
        ]
    return []


def _refuse_suspended(instance: ProcessInstance) -> None:
    if instance.status == InstanceStatus.SUSPENDED:
        raise InstanceSuspended(f"Instance {instance.pk} is suspended: resume it first")


def _lock_instance(instance_id: int) -> ProcessInstance:
    """Lock the instance row, with what most commands then read: the configuration token, the
    starter (their notice, the API's answer) and whether any incident is open (the answer's
    incidents need no read when none was). The definition comes from the per-process cache.

    On PostgreSQL the statement is written once and prepared (bpm/prepared.py): every command
    sends it, and building it through the ORM cost more than PostgreSQL spends answering it."""
    if connection.vendor != "postgresql":
        return _lock_instance_orm(instance_id)
    row = prepared.fetchone(_lock_sql(), [instance_id])
    if row is None:
        raise InstanceNotFound(f"Instance {instance_id} does not exist")
    instance_fields, user_fields = ProcessInstance._meta.concrete_fields, _user_model()._meta.concrete_fields
    instance = _from_row(ProcessInstance, instance_fields, row[: len(instance_fields)])
    instance.config_token, instance.incidents_at_lock = row[len(instance_fields) : len(instance_fields) + 2]
    starter = row[len(instance_fields) + 2 :]
    ProcessInstance.started_by.field.set_cached_value(
        instance, _from_row(_user_model(), user_fields, starter) if starter[0] is not None else None
    )
    instance.definition = _definition(instance.definition_id)
    return instance


def _from_row(model, fields, values):
    """A model instance from a row of its concrete fields, converted as the ORM would."""
    values = [
        f.from_db_value(value, None, connection) if value is not None and hasattr(f, "from_db_value") else value
        for f, value in zip(fields, values, strict=True)
    ]
    return model.from_db(connection.alias, [f.attname for f in fields], values)


def _user_model():
    return ProcessInstance.started_by.field.related_model


@functools.cache
def _lock_sql() -> str:
    def columns(model, alias: str) -> str:
        return ", ".join(f'{alias}."{f.column}"' for f in model._meta.concrete_fields)

    incident = Incident._meta
    return (
        f"SELECT {columns(ProcessInstance, 'i')}, {config.TOKEN_SQL}, "  # noqa: S608 - names from the models
        f'EXISTS (SELECT 1 FROM "{incident.db_table}" WHERE "{incident.get_field("instance").column}" = i."id"), '
        f"{columns(_user_model(), 'u')} "
        f'FROM "{ProcessInstance._meta.db_table}" i LEFT JOIN "{_user_model()._meta.db_table}" u '
        f'ON u."id" = i."{ProcessInstance._meta.get_field("started_by").column}" '
        'WHERE i."id" = %s FOR UPDATE OF i'
    )


def _lock_instance_orm(instance_id: int) -> ProcessInstance:
    try:
        instance = (
            ProcessInstance.objects.select_for_update(of=("self",))
            .annotate(config_token=RawSQL(config.TOKEN_SQL, ()))  # noqa: S611 - a constant
            .get(pk=instance_id)
        )
    except ProcessInstance.DoesNotExist:
        raise InstanceNotFound(f"Instance {instance_id} does not exist") from None
    instance.definition = _definition(instance.definition_id)
    return instance


def _new_instance_key(instance: ProcessInstance) -> None:
    """A new instance's id and the configuration token, in one statement before its run is
    saved: the writes that follow can then go out together (PostgreSQL; SQLite numbers the
    row when it is inserted)."""
    if connection.vendor != "postgresql":
        return
    instance.pk, instance.config_token = prepared.fetchone(
        f"SELECT nextval(pg_get_serial_sequence('{ProcessInstance._meta.db_table}', 'id')), {config.TOKEN_SQL}", ()
    )


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
    run = runtime.Run.load(instance.state, specs_for(instance.definition))
    run.set_business_key(instance.business_key)
    return run


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
    """Append one history event to an instance (task actions, decisions); inside
    ``bpm.writes.deferred()`` it goes out with the command's other writes."""
    event = HistoryEvent(
        instance_id=instance_id,
        definition_id=definition_id,
        kind=kind,
        element_id=element_id,
        element_name=name[:255],
        data=data or {},
        actor=actor if getattr(actor, "is_authenticated", False) else None,
    )
    writes.insert([event])
    return event
