"""Validating the files deployed together, and building the SpiffWorkflow specs of a process."""

from __future__ import annotations

import re

from lxml import etree
from SpiffWorkflow.camunda.specs.business_rule_task import BusinessRuleTask as CamundaBusinessRuleTask
from SpiffWorkflow.dmn.engine.DMNEngine import DMNEngine
from SpiffWorkflow.exceptions import SpiffWorkflowException

from .. import sandbox
from ..called import BINDINGS
from ..deep import call_deep
from .checks import _check_code, _check_unsupported_elements
from .compatibility import compatibility_report
from .constants import DEFAULT_MAX_BYTES, DIALECT_CAMUNDA, NS
from .dialects import _new_parser
from .metadata import element_metadata
from .preprocess import _check_compensation, _check_links, _preprocess, _q
from .results import BundleReport, CompatibilityNote, DefinitionInvalid, Problem, ProcessInfo, SourceFile
from .scan import called_decisions, decision_ids, process_ids
from .spec_marks import mark_specs
from .xml import _check_xsd, dialect_of, kind_of, read_xml


def _line_of(trees: dict[str, etree._ElementTree], file: str, element_id: str) -> int | None:
    tree = trees.get(file)
    if tree is None or not element_id:
        return None
    found = tree.getroot().xpath("//*[@id=$id]", id=element_id)
    return found[0].sourceline if found else None


def _spiff_problem(exc: Exception, trees: dict[str, etree._ElementTree], default_file: str = "") -> Problem:
    element_id = getattr(exc, "id", "") or ""
    file = getattr(exc, "file_name", "") or default_file
    line = getattr(exc, "line_number", None) or _line_of(trees, file, element_id)
    message = str(exc.args[0]) if exc.args else str(exc)
    return Problem(message, file=file, element_id=element_id, line=line if isinstance(line, int) else None)


def validate_bundle(
    files: list[SourceFile],
    *,
    deployed_processes: dict[str, SourceFile] | None = None,
    deployed_decisions: dict[str, SourceFile] | None = None,
    scripts_enabled: bool = True,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> BundleReport:
    """Validate files deployed together; raise DefinitionInvalid listing every problem found.

    ``deployed_processes`` and ``deployed_decisions`` give the latest deployed files that
    define processes and decisions the bundle calls but does not contain.
    """
    deployed_processes = deployed_processes or {}
    deployed_decisions = deployed_decisions or {}
    if not files:
        raise DefinitionInvalid([Problem("No files were uploaded")])
    trees: dict[str, etree._ElementTree] = {}
    bpmn_files: list[SourceFile] = []
    dmn_files: list[SourceFile] = []
    problems: list[Problem] = []
    for source in files:
        try:
            tree = read_xml(source, max_bytes)
            kind = kind_of(tree)
        except DefinitionInvalid as exc:
            for p in exc.problems:
                p.file = p.file or source.name
            problems.extend(exc.problems)
            continue
        if source.name in trees:
            problems.append(Problem("Two uploaded files have the same name", file=source.name))
            continue
        trees[source.name] = tree
        (bpmn_files if kind == "bpmn" else dmn_files).append(source)
        if kind == "bpmn":
            try:
                _check_xsd(tree, source.name)
            except DefinitionInvalid as exc:
                problems.extend(exc.problems)
    if problems:
        raise DefinitionInvalid(problems)
    if not bpmn_files:
        return _decisions_only(dmn_files, trees)

    processes: dict[str, ProcessInfo] = {}
    for source in bpmn_files:
        tree = trees[source.name]
        problems.extend(_check_links(tree, source.name))
        problems.extend(_check_compensation(tree, source.name))
        problems.extend(_check_code(tree, source.name, scripts_enabled))
        problems.extend(_check_unsupported_elements(tree, source.name, dialect_of([tree]) == DIALECT_CAMUNDA))
        for key, executable, el in process_ids(tree):
            if key in processes:
                problems.append(Problem(f"Process id '{key}' is defined twice", source.name, key, el.sourceline))
                continue
            info = ProcessInfo(
                key=key,
                name=el.get("name") or key,
                executable=executable,
                file=source.name,
                called_processes={
                    c.get("calledElement") for c in el.iter(_q("callActivity")) if c.get("calledElement")
                },
                called_decisions=called_decisions(etree.ElementTree(el)),
                elements=element_metadata(el),
            )
            for start in el.findall(_q("startEvent")):
                if start.find(_q("messageEventDefinition")) is not None:
                    info.has_message_start = True
                if start.find(_q("timerEventDefinition")) is not None:
                    info.has_timer_start = True
            processes[key] = info
    decisions: dict[str, str] = {}
    for source in dmn_files:
        for decision_id in decision_ids(trees[source.name]):
            decisions[decision_id] = source.name

    executable = [p for p in processes.values() if p.executable]
    if not executable:
        first = bpmn_files[0].name
        problems.append(
            Problem(
                'No executable process: every process is marked isExecutable="false". '
                "Mark the process executable (in Camunda Modeler: select the pool or the canvas and tick "
                '"Executable" in the properties panel; in XML: isExecutable="true" on <process>).',
                file=first,
                element_id=next(iter(processes), ""),
                line=_line_of(trees, first, next(iter(processes), "")),
            )
        )
    if problems:
        raise DefinitionInvalid(problems)

    # Called processes and decisions: in the bundle, else already deployed, else an error.
    for info in executable:
        tree = trees[info.file]
        for call in tree.getroot().xpath("//bpmn:process[@id=$id]//bpmn:callActivity", namespaces=NS, id=info.key):
            called = call.get("calledElement")
            if not called:
                problems.append(
                    Problem("Call activity has no calledElement", info.file, call.get("id", ""), call.sourceline)
                )
            elif called.startswith(("${", "#{", "=")):
                problems.append(
                    Problem(
                        f"Call activity calls an expression '{called}'; give the called process id",
                        info.file,
                        call.get("id", ""),
                        call.sourceline,
                    )
                )
            elif called not in processes and called not in deployed_processes:
                problems.append(
                    Problem(
                        f"Call activity calls process '{called}', which is neither in this upload nor deployed",
                        info.file,
                        call.get("id", ""),
                        call.sourceline,
                    )
                )
            else:
                reason = _call_problem(call, called, in_upload=called in processes)
                if reason:
                    problems.append(Problem(reason, info.file, call.get("id", ""), call.sourceline))
        for decision in info.called_decisions:
            if "${" in decision or "#{" in decision:
                continue  # SpiffWorkflow's parser refuses it below if the task is reachable
            if decision not in decisions and decision not in deployed_decisions:
                el = tree.getroot().xpath("//*[@camunda:decisionRef=$d]", namespaces=NS, d=decision)
                problems.append(
                    Problem(
                        f"Business rule task uses decision '{decision}', which is neither in this upload nor deployed",
                        info.file,
                        el[0].get("id", "") if el else "",
                        el[0].sourceline if el else None,
                    )
                )
        for task in tree.getroot().xpath(
            "//bpmn:process[@id=$id]//bpmn:businessRuleTask[@camunda:decisionRef]", namespaces=NS, id=info.key
        ):
            reason = _decision_binding_problem(task, in_upload=task.get(f"{{{NS['camunda']}}}decisionRef") in decisions)
            if reason:
                problems.append(Problem(reason, info.file, task.get("id", ""), task.sourceline))
    if problems:
        raise DefinitionInvalid(problems)

    all_bpmn = list(bpmn_files) + [f for f in deployed_processes.values() if f.name not in trees]
    all_dmn = list(dmn_files) + [f for f in deployed_decisions.values() if f.name not in trees]
    dialect = dialect_of([trees[f.name] for f in bpmn_files])
    # One SpiffWorkflow parser for the bundle: each file is parsed into it once, then every
    # executable process's spec is built from it (a parser per process parsed all files again).
    try:
        parser = _loaded_parser(dialect, all_bpmn, all_dmn)
    except SpiffWorkflowException as exc:
        problems.append(_spiff_problem(exc, trees, executable[0].file if executable else ""))
        parser = None
    except DefinitionInvalid as exc:
        problems.extend(exc.problems)
        parser = None
    for info in executable if parser is not None else []:
        try:
            _specs_from(parser, info.key)
        except SpiffWorkflowException as exc:
            problems.append(_spiff_problem(exc, trees, info.file))
        except DefinitionInvalid as exc:
            problems.extend(exc.problems)
    if problems:
        raise DefinitionInvalid(problems)

    compatibility: list[CompatibilityNote] = []
    for source in bpmn_files:
        compatibility.extend(compatibility_report(trees[source.name], source.name))
    return BundleReport(
        dialect=dialect,
        processes=processes,
        decisions=decisions,
        compatibility=compatibility,
        bpmn_files=bpmn_files,
        dmn_files=dmn_files,
    )


def _call_problem(call: etree._Element, called: str, *, in_upload: bool) -> str:
    """Why a call activity cannot run as written: its binding names no version, or it asks for
    a business key the called process cannot have."""
    camunda = f"{{{NS['camunda']}}}"
    binding = call.get(f"{camunda}calledElementBinding") or "latest"
    if binding not in BINDINGS:
        return f"calledElementBinding '{binding}' is not one of latest, deployment, version or versionTag"
    if binding == "deployment" and not in_upload:
        return (
            f"calledElementBinding=\"deployment\" calls the process '{called}' of the same deployment, but it is "
            "not in this upload: deploy them together"
        )
    if binding == "version":
        version = call.get(f"{camunda}calledElementVersion") or ""
        if not version:
            return 'calledElementBinding="version" needs camunda:calledElementVersion'
        if not version.isdigit():
            return f"camunda:calledElementVersion '{version}' must be a whole number (expressions are not supported)"
    if binding == "versionTag" and not call.get(f"{camunda}calledElementVersionTag"):
        return 'calledElementBinding="versionTag" needs camunda:calledElementVersionTag'
    for mapping in call.iterfind(f"{_q('extensionElements')}/{camunda}in"):
        key = mapping.get("businessKey")
        if key is not None and re.sub(r"\s", "", key) not in _CALLERS_BUSINESS_KEY:
            return (
                f'camunda:in businessKey="{key}" cannot be honoured: a called process runs inside its caller\'s '
                "instance and keeps the caller's business key (#{execution.processBusinessKey} is accepted)"
            )
    return ""


def _decision_binding_problem(task: etree._Element, *, in_upload: bool) -> str:
    """Why camunda:decisionRefBinding cannot name a version of the decision, if it cannot."""
    from ..dmn import DECISION_BINDINGS  # the DMN engine reads bpmn.results: imported when used

    camunda = f"{{{NS['camunda']}}}"
    binding = task.get(f"{camunda}decisionRefBinding") or "latest"
    if binding == "versionTag":
        return 'decisionRefBinding="versionTag" is not supported: use latest, deployment or version'
    if binding not in DECISION_BINDINGS:
        return f"decisionRefBinding '{binding}' is not one of latest, deployment or version"
    if binding == "deployment" and not in_upload:
        return (
            f"decisionRefBinding=\"deployment\" uses the decision '{task.get(f'{camunda}decisionRef')}' of the same "
            "deployment, but it is not in this upload: deploy them together"
        )
    version = task.get(f"{camunda}decisionRefVersion") or ""
    if binding == "version" and not version:
        return 'decisionRefBinding="version" needs camunda:decisionRefVersion'
    if binding == "version" and not version.isdigit() and "${" not in version and "#{" not in version:
        return f"camunda:decisionRefVersion '{version}' must be a whole number or an expression"
    return ""


_CALLERS_BUSINESS_KEY = {"#{execution.processBusinessKey}", "${execution.processBusinessKey}"}


def _decisions_only(dmn_files: list[SourceFile], trees: dict) -> BundleReport:
    """DMN files deployed on their own (as Camunda Modeler deploys a decision): each table is
    checked as a process using it would check it; processes deployed later may call them."""
    from .. import dmn  # the DMN engine reads bpmn.results: imported when used

    decisions: dict[str, str] = {}
    problems: list[Problem] = []
    for source in dmn_files:
        try:
            parsed = dmn.parse_decisions(trees[source.name].getroot(), source.name)
        except DefinitionInvalid as exc:
            problems.extend(exc.problems)
            continue
        if not parsed:
            problems.append(Problem("The DMN file defines no decision", source.name, "", None))
        for decision_id in parsed:
            if decision_id in decisions:
                problems.append(
                    Problem(f"Decision id '{decision_id}' is defined twice", source.name, decision_id, None)
                )
            decisions[decision_id] = source.name
    if problems:
        raise DefinitionInvalid(problems)
    return BundleReport(
        dialect=DIALECT_CAMUNDA,
        processes={},
        decisions=decisions,
        compatibility=[],
        bpmn_files=[],
        dmn_files=dmn_files,
    )


def build_specs(process_key: str, dialect: str, bpmn_files: list[SourceFile], dmn_files: list[SourceFile]):
    """Parse files into (spec, subprocess_specs) for one process; the caller caches the result."""
    return _specs_from(_loaded_parser(dialect, bpmn_files, dmn_files), process_key)


def _loaded_parser(dialect: str, bpmn_files: list[SourceFile], dmn_files: list[SourceFile]):
    """A SpiffWorkflow parser holding every file (preprocessed), ready to build any process's spec."""
    parser = _new_parser(dialect)
    seen_process_ids: set[str] = set()
    for source in bpmn_files:
        tree = _preprocess(read_xml(source, max_bytes=max(len(source.content), 1)))
        # a file deployed earlier may define a process the bundle redefines: the bundle wins
        ids = {pid for pid, _, _ in process_ids(tree)}
        if ids & seen_process_ids:
            continue
        seen_process_ids |= ids
        parser.add_bpmn_xml(tree.getroot(), filename=source.name)
    for source in dmn_files:
        parser.add_dmn_xml(read_xml(source, max_bytes=max(len(source.content), 1)).getroot(), filename=source.name)
    return parser


def _specs_from(parser, process_key: str):
    # the parser walks sequence flows recursively: a long process needs a deep stack
    spec = call_deep(parser.get_spec, process_key)
    subprocess_specs = call_deep(parser.get_subprocess_specs, process_key)
    mark_specs(parser, spec, subprocess_specs)
    _prepare_business_rule_tasks(spec, subprocess_specs)
    return spec, subprocess_specs


class BudgetedDMNEngine(DMNEngine):
    """A decision table is evaluated within one time budget, however many cells it has."""

    def result(self, task):
        with sandbox.budget():
            return super().result(task)


def _prepare_business_rule_tasks(spec, subprocess_specs) -> None:
    for s in [spec, *subprocess_specs.values()]:
        if s is None:
            continue
        for task_spec in s.task_specs.values():
            if isinstance(task_spec, CamundaBusinessRuleTask):
                if task_spec.dmnEngine is None:
                    raise DefinitionInvalid(
                        [Problem("Business rule task has no decision", element_id=task_spec.bpmn_id or "")]
                    )
                if type(task_spec.dmnEngine) is DMNEngine:
                    task_spec.dmnEngine.__class__ = BudgetedDMNEngine
