"""Deploying definitions: validate, version, store; the parsed specs of a version."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction

from .. import schedules
from ..choices import DeploySource, JobKind, ResourceKind
from ..engine import camunda_forms, runtime
from ..engine import parser as engine_parser
from ..exceptions import (
    DefinitionInvalidError,
)
from ..models import (
    DecisionDefinition,
    Deployment,
    Job,
    JobStatus,
    ProcessDefinition,
    Resource,
)


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
            keys = ", ".join(f"{d.key} v{d.version}" for d in self.unchanged) or "decisions only"
            return f"Nothing new: the files are identical to the deployed versions ({keys})."
        created = ", ".join(f"{d.key} v{d.version}" for d in self.created + self.decisions_created)
        return f"Deployed {created}."


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


def _process_checksum(info, report, file_by_name: dict, form_files: list) -> str:
    """What makes a new version of a process: its own file, and the decision tables and forms
    of the upload it uses. A file of the bundle it does not use changes nothing (as Camunda's
    deploy-changed-only); with exactly its own tables and forms beside it the checksum is the
    one earlier releases stored."""
    uses = {report.decisions[d] for d in info.called_decisions if d in report.decisions} | info.form_files
    checksum_of = {f.name: f.checksum for f in report.dmn_files + form_files}
    dependencies = _checksum(*sorted(checksum_of[name].encode() for name in uses if name in checksum_of))
    return _checksum(file_by_name[info.file].content, dependencies.encode())


def definition_deploy(
    *,
    files: Iterable[tuple[str, bytes]],
    user=None,
    source: str = DeploySource.WEB,
    name: str = "",
) -> DeployResult:
    """Validate and deploy BPMN/DMN files together; identical files create nothing new.

    Raises DefinitionInvalidError (nothing stored) listing each problem with file, element and line.
    Each file is parsed once for the whole upload (scan, validation, specs, metadata).
    """
    with engine_parser.parsed_once():
        return _deploy(files=files, user=user, source=source, name=name)


def _read_forms(form_files: list) -> tuple[dict[str, camunda_forms.ReadForm], dict[str, camunda_forms.ReadForm]]:
    """Forms of the upload by form id and by file name; bad forms are refused."""
    by_id: dict[str, camunda_forms.ReadForm] = {}
    by_file: dict[str, camunda_forms.ReadForm] = {}
    problems = []
    for source in form_files:
        form = camunda_forms.read_form(source)
        problems += form.problems
        by_id[form.form_id] = by_file[source.name] = form
    if problems:
        raise DefinitionInvalidError(
            "The files cannot be deployed: " + "; ".join(str(p) for p in problems[:5]),
            details=[p.as_dict() for p in problems],
        )
    return by_id, by_file


def _attach_forms(processes: dict, forms_by_id: dict, forms_by_file: dict) -> list[dict]:
    """A user task or start event naming a Camunda Form in the upload gets its fields (the inbox
    renders and validates them like formData). One naming a form the upload lacks deploys, as
    in Camunda (which fails only when the form is opened): the compatibility note says the
    task then takes any data."""
    notes = []
    file_of = {id(form): name for name, form in forms_by_file.items()}
    for info in processes.values():
        for element_id, element in info.elements.items():
            camunda = element.get("camunda") or {}
            reference = camunda_forms.form_reference(camunda, element.get("spiff"))
            if reference is None or camunda.get("formFields"):
                continue
            kind, name = reference
            form = (forms_by_id if kind == "id" else forms_by_file).get(name)
            if form is None:
                notes.append(
                    {
                        "element_id": element_id,
                        "line": None,
                        "file": info.file,
                        "feature": "Camunda Form",
                        "effect": f"Form '{name}' is not in this deployment: the task takes any data "
                        "(deploy the .form file with the diagram to render and validate it)",
                    }
                )
                continue
            camunda["formFields"] = form.fields
            info.form_files.add(file_of[id(form)])
            if form.schema is not None:
                camunda["formSchema"] = form.schema  # the task page renders it with form-js
            element["camunda"] = camunda
    return notes


def _refuse_unknown_calendars(processes: dict) -> None:
    """A duration timer naming a business calendar that does not exist is refused here, not
    when an instance reaches it."""
    from ..models import BusinessCalendar

    named = [
        (info.file, element_id, camunda["properties"]["calendar"])
        for info in processes.values()
        for element_id, element in info.elements.items()
        for camunda in [element.get("camunda") or {}]
        if (camunda.get("properties") or {}).get("calendar") and (element.get("timer") or {}).get("kind")
    ]
    known = set(BusinessCalendar.objects.filter(name__in={n for _, _, n in named}).values_list("name", flat=True))
    problems = [
        engine_parser.Problem(f"The timer asks for the business calendar '{name}', which does not exist", file, eid)
        for file, eid, name in named
        if name not in known
    ]
    if problems:
        raise DefinitionInvalidError(
            "The files cannot be deployed: " + "; ".join(str(p) for p in problems[:5]),
            details=[p.as_dict() for p in problems],
        )


@dataclass
class _Validated:
    uploaded: list
    form_files: list
    report: engine_parser.BundleReport
    compatibility: list[dict]
    dependencies: list[Resource]


def _validate(files: Iterable[tuple[str, bytes]]) -> _Validated:
    """Everything a deployment checks, against what is deployed now; stores nothing."""
    uploaded = [engine_parser.SourceFile(file_name, engine_parser.as_utf8(content)) for file_name, content in files]
    form_files = [f for f in uploaded if camunda_forms.is_form_file(f)]
    sources = [f for f in uploaded if f not in form_files]
    forms_by_id, forms_by_file = _read_forms(form_files)
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
    form_notes = _attach_forms(report.processes, forms_by_id, forms_by_file)
    _refuse_unknown_calendars(report.processes)
    compatibility = [note.as_dict() for note in report.compatibility] + form_notes
    return _Validated(uploaded, form_files, report, compatibility, dep_resources)


@dataclass
class CheckResult:
    """What deploying these files would do, found without deploying them."""

    processes: list[str]
    decisions: list[str]
    forms: list[str]
    compatibility: list[dict]


def definition_check(*, files: Iterable[tuple[str, bytes]]) -> CheckResult:
    """Validate files as a deployment would (against what is deployed now) and report the
    executable processes, decisions and forms found and each compatibility note; nothing is
    stored. Raises DefinitionInvalidError listing each problem, as deploying would."""
    with engine_parser.parsed_once():
        checked = _validate(files)
    report = checked.report
    return CheckResult(
        processes=[info.key for info in report.processes.values() if info.executable],
        decisions=sorted(report.decisions),
        forms=[f.name for f in checked.form_files],
        compatibility=checked.compatibility,
    )


def _deploy(*, files: Iterable[tuple[str, bytes]], user, source: str, name: str) -> DeployResult:
    checked = _validate(files)
    uploaded, form_files, report = checked.uploaded, checked.form_files, checked.report
    compatibility, dep_resources = checked.compatibility, checked.dependencies
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
        checksums = {info.key: _process_checksum(info, report, file_by_name, form_files) for info in executable}
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
            name=name or ", ".join(f.name for f in uploaded),
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
        for f in form_files:  # kept with the deployment; their fields are on the elements
            Resource.objects.create(
                deployment=deployment,
                name=f.name,
                kind=ResourceKind.FORM,
                content=f.content.decode("utf-8"),
                checksum=f.checksum,
            )
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
                version_tag=((info.elements.get(info.key) or {}).get("camunda") or {}).get("versionTag", "")[:255],
                history_ttl_days=engine_parser.history_ttl_days(
                    ((info.elements.get(info.key) or {}).get("camunda") or {}).get("historyTimeToLive")
                ),
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
            Job.objects.filter(
                kind=JobKind.START_TIMER, status=JobStatus.PENDING, definition__key=definition.key
            ).delete()
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
