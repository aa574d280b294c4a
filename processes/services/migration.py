"""Migrating running instances to another definition version (Camunda 7's migration API):
generate a plan, validate it against instances, execute it for a list of instances in one
transaction (or, for many, as a batch: services/batches.py). The tree surgery is the engine's
(engine/migration.py); this module keeps the rows in step with it."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction

from bpm.exceptions import InvalidInput

from .. import waiting
from ..choices import HistoryKind, InstanceStatus
from ..engine import migration, runtime
from ..exceptions import DefinitionNotFound, MigrationInvalid
from ..models import OPEN_STATUSES, Job, JobStatus, ProcessDefinition, ProcessInstance, WaitingStep
from .deploy import specs_for
from .state import _apply_outcome, _history, _load_run, _lock_instance

MAX_SYNC_INSTANCES = 1000  # more than this in one transaction is a batch's work


@dataclass
class MigrationPlan:
    source: ProcessDefinition
    target: ProcessDefinition
    instructions: list[migration.Instruction] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "source_definition_id": self.source.pk,
            "target_definition_id": self.target.pk,
            "instructions": [
                {"source": i.source, "target": i.target, "update_event_trigger": i.update_event_trigger}
                for i in self.instructions
            ],
        }

    @classmethod
    def from_dict(cls, data: dict) -> MigrationPlan:
        """A plan as stored on a batch (ids and instructions); a version deleted since is an error."""
        versions = ProcessDefinition.objects.in_bulk([data["source_definition_id"], data["target_definition_id"]])
        if len(versions) != len({data["source_definition_id"], data["target_definition_id"]}):
            raise DefinitionNotFound("A version the migration plan names was deleted")
        return cls(
            versions[data["source_definition_id"]],
            versions[data["target_definition_id"]],
            [
                migration.Instruction(i["source"], i["target"], bool(i.get("update_event_trigger")))
                for i in data["instructions"]
            ],
        )


def migration_plan_generate(
    *, source: ProcessDefinition, target: ProcessDefinition, update_event_triggers: bool = False
) -> MigrationPlan:
    """Map every element with the same id, kind and scope in both versions."""
    instructions = migration.generate(specs_for(source), specs_for(target), update_event_triggers=update_event_triggers)
    return MigrationPlan(source, target, instructions)


def migration_plan_problems(plan: MigrationPlan) -> list[dict]:
    """What is wrong with the plan itself, whatever instance it is applied to."""
    return [
        p.as_dict() for p in migration.plan_problems(specs_for(plan.source), specs_for(plan.target), plan.instructions)
    ]


def migration_validate(*, plan: MigrationPlan, instance_ids: list[int]) -> dict:
    """The plan's problems and, per instance, what stops it from moving (empty lists: all can)."""
    if len(instance_ids) > MAX_SYNC_INSTANCES:
        raise InvalidInput(
            f"At most {MAX_SYNC_INSTANCES} instances are checked in one request; narrow the selection",
            details={"instance_ids": [f"at most {MAX_SYNC_INSTANCES}"]},
        )
    plan_problems = migration_plan_problems(plan)
    report = {}
    if not plan_problems:
        instances = ProcessInstance.objects.filter(pk__in=instance_ids).order_by("pk")
        found = {i.pk: i for i in instances}
        for instance_id in instance_ids:
            instance = found.get(instance_id)
            problems = _instance_problems(plan, instance) if instance else [_missing(instance_id)]
            report[str(instance_id)] = problems
    return {"plan": plan_problems, "instances": report}


def _missing(instance_id: int) -> dict:
    return {"element_id": "", "message": f"instance {instance_id} does not exist"}


def _instance_problems(plan: MigrationPlan, instance: ProcessInstance, run: runtime.Run | None = None) -> list[dict]:
    if instance.definition_id == plan.target.pk:
        return []  # already there: migrating it again changes nothing
    if instance.definition_id != plan.source.pk:
        return [{"element_id": "", "message": f"instance {instance.pk} runs another version than the plan's source"}]
    if instance.status not in OPEN_STATUSES:
        return [{"element_id": "", "message": f"instance {instance.pk} is {instance.status}"}]
    run = run or _load_run(instance)
    problems = migration.instance_problems(
        run.workflow, specs_for(plan.source), specs_for(plan.target), plan.instructions
    )
    return [p.as_dict() for p in problems]


def migration_execute(
    *, plan: MigrationPlan, instance_ids: list[int], user=None, reevaluate_assignments: bool = False
) -> int:
    """Migrate the instances in one transaction: all move, or none does and the report says why."""
    if not instance_ids:
        raise InvalidInput("Name at least one instance to migrate", details={"instance_ids": ["required"]})
    if len(instance_ids) > MAX_SYNC_INSTANCES:
        raise InvalidInput(
            f"At most {MAX_SYNC_INSTANCES} instances migrate in one request; run a batch for more",
            details={"instance_ids": [f"at most {MAX_SYNC_INSTANCES}"]},
        )
    _refuse_bad_plan(plan)
    with transaction.atomic():
        moved = 0
        report = {}
        for instance_id in sorted(set(instance_ids)):  # lock order: ascending ids
            try:
                moved += instance_migrate(
                    instance_id=instance_id, plan=plan, user=user, reevaluate_assignments=reevaluate_assignments
                )
            except MigrationInvalid as exc:
                report.update(exc.details["instances"])
        if report:  # raised inside the block: every instance moved so far rolls back
            raise MigrationInvalid(
                f"{len(report)} of {len(set(instance_ids))} instances cannot be migrated; none was", instances=report
            )
        return moved


def _refuse_bad_plan(plan: MigrationPlan) -> None:
    problems = migration_plan_problems(plan)
    if problems:
        raise MigrationInvalid("The migration plan is not valid for these versions", plan=problems)


def instance_migrate(*, instance_id: int, plan: MigrationPlan, user=None, reevaluate_assignments: bool = False) -> int:
    """Move one instance (1) or find it already moved (0); MigrationInvalid with its report otherwise."""
    with transaction.atomic():
        instance = _lock_instance(instance_id)
        if instance.definition_id == plan.target.pk:
            return 0
        run = _load_run(instance) if instance.status in OPEN_STATUSES else None
        problems = _instance_problems(plan, instance, run)
        if problems:
            raise MigrationInvalid(f"Instance {instance_id} cannot be migrated", instances={str(instance_id): problems})
        source, target = specs_for(plan.source), specs_for(plan.target)
        before, status = run.waiting_before, instance.status
        result = migration.migrate(run.workflow, source, target, plan.instructions)
        moved_run = runtime.Run(run.workflow, target)
        moved_run.entered = run.entered
        moved_run.set_business_key(instance.business_key)
        moved_run.waiting_before = _rekey(instance, before, result)
        old_version = instance.definition
        instance.definition = plan.target
        instance.process_key = plan.target.key
        instance.save(update_fields=["definition", "process_key", "updated_at"])
        event = _history(
            instance,
            HistoryKind.INSTANCE_MIGRATED,
            actor=user,
            data={
                "from_definition_id": old_version.pk,
                "from_version": old_version.version,
                "to_definition_id": plan.target.pk,
                "to_version": plan.target.version,
                "moved": {k: list(v) for k, v in result.moved.items()},
                "events_added": result.added_events,
                "events_removed": result.removed_events,
            },
        )
        waiting.migrated(
            instance=instance, moved=result.moved, variables=instance.variables or {}, reevaluate=reevaluate_assignments
        )
        _apply_outcome(instance, moved_run, actor=user, events=[event])
        if status == InstanceStatus.SUSPENDED:  # a suspended instance stays so, with its new jobs
            instance.status = status
            instance.save(update_fields=["status"])
            Job.objects.filter(instance=instance, status=JobStatus.PENDING).update(status=JobStatus.SUSPENDED)
        return 1


def _rekey(instance: ProcessInstance, before: set, result: migration.Migrated) -> set:
    """The rows of points whose element changed follow it; those whose trigger is renewed go,
    so the sync step opens them again (a new due date, message or signal)."""
    keys = set()
    for spiff_task_id, element_id, kind in before:
        if spiff_task_id in result.retriggered:
            WaitingStep.objects.filter(instance=instance, spiff_task_id=spiff_task_id).delete()
            Job.objects.filter(instance=instance, spiff_task_id=spiff_task_id).exclude(status=JobStatus.DONE).delete()
            continue
        old, new = result.moved.get(spiff_task_id, (element_id, element_id))
        if old == element_id and new != element_id:
            WaitingStep.objects.filter(instance=instance, spiff_task_id=spiff_task_id, element_id=old).update(
                element_id=new
            )
            Job.objects.filter(instance=instance, spiff_task_id=spiff_task_id, element_id=old).update(element_id=new)
            element_id = new
        keys.add((spiff_task_id, element_id, kind))
    return keys


def migration_elements(definition: ProcessDefinition) -> list[dict]:
    """The elements a plan maps, in diagram order: id, kind, name and scope."""
    return [
        {"id": element_id, "tag": e.tag, "name": getattr(e.spec, "bpmn_name", "") or "", "scope": e.scope or ""}
        for element_id, e in migration.catalogue(specs_for(definition)).items()
    ]


def migration_plan_with(plan: MigrationPlan, choices: dict[str, str], *, update_event_triggers: bool) -> MigrationPlan:
    """The plan with a person's choices: source id -> target id ('' leaves it unmapped)."""
    instructions = {i.source: i for i in plan.instructions}
    for source, target in choices.items():
        if target:
            instructions[source] = migration.Instruction(source, target, update_event_triggers)
        else:
            instructions.pop(source, None)
    items = [migration.Instruction(i.source, i.target, update_event_triggers) for i in instructions.values()]
    return MigrationPlan(plan.source, plan.target, items)
