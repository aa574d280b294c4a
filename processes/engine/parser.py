"""Read uploaded BPMN and DMN files safely, validate them, and build SpiffWorkflow specs.

The order of checks, each with the element id and line where it can name one:
safe XML (no DTD, no entities, no network, a size limit) -> BPMN or DMN root ->
the BPMN 2.0 XSD -> at least one executable process -> SpiffWorkflow's parser
(our dialect subclasses) -> called processes and decisions exist -> every script
and expression compiles in the restricted environment.

Two dialects, chosen per file by the namespaces it uses: Spiff (spiffworkflow:
extensions) and Camunda (everything else; a superset of plain BPMN). Before either
parser sees a document, ``_preprocess`` rewrites what SpiffWorkflow 3.2.0 would
get wrong: link events become sequence flows, and a signal end event becomes a
signal throw followed by a plain end.
"""

from __future__ import annotations

import copy
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnValidator, full_tag
from SpiffWorkflow.bpmn.parser.event_parsers import (
    CANCEL_EVENT_XPATH,
    ERROR_EVENT_XPATH,
    ESCALATION_EVENT_XPATH,
    MESSAGE_EVENT_XPATH,
    SIGNAL_EVENT_XPATH,
    TERMINATION_EVENT_XPATH,
)
from SpiffWorkflow.bpmn.parser.task_parsers import SubprocessParser
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.defaults import EndEvent, EventSubprocess, ServiceTask
from SpiffWorkflow.camunda.parser.CamundaParser import CamundaParser
from SpiffWorkflow.camunda.parser.event_parsers import CamundaEndEventParser
from SpiffWorkflow.camunda.parser.task_spec import CamundaTaskParser
from SpiffWorkflow.camunda.parser.task_spec import SubWorkflowParser as CamundaSubWorkflowParser
from SpiffWorkflow.camunda.specs.business_rule_task import BusinessRuleTask as CamundaBusinessRuleTask
from SpiffWorkflow.dmn.engine.DMNEngine import DMNEngine
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.parser.event_parsers import SpiffEndEventParser
from SpiffWorkflow.spiff.parser.process import SPIFF_XSD, SpiffBpmnParser
from SpiffWorkflow.spiff.parser.task_spec import ServiceTaskParser as SpiffServiceTaskParser

from . import expressions, sandbox, scripting
from .approval_rules import decision_variable

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
ZEEBE_NS = "http://camunda.org/schema/zeebe/1.0"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
DMN_NAMESPACES = {
    "https://www.omg.org/spec/DMN/20191111/MODEL/",
    "http://www.omg.org/spec/DMN/20180521/MODEL/",
    "http://www.omg.org/spec/DMN/20151101/dmn.xsd",
    "https://www.omg.org/spec/DMN/20230324/MODEL/",
}
NS = {"bpmn": BPMN_NS, "camunda": CAMUNDA_NS, "spiffworkflow": SPIFF_NS}

DIALECT_CAMUNDA = "camunda"
DIALECT_SPIFF = "spiff"

DEFAULT_MAX_BYTES = 5 * 1024 * 1024


# ---------------------------------------------------------------------------
# Results and errors


@dataclass
class Problem:
    """One reason a file is refused."""

    message: str
    file: str = ""
    element_id: str = ""
    line: int | None = None

    def as_dict(self) -> dict:
        return {"message": self.message, "file": self.file, "element_id": self.element_id, "line": self.line}

    def __str__(self) -> str:
        where = ", ".join(
            part
            for part in (
                self.file,
                f"line {self.line}" if self.line else "",
                f"element '{self.element_id}'" if self.element_id else "",
            )
            if part
        )
        return f"{where}: {self.message}" if where else self.message


class DefinitionInvalid(Exception):
    """The uploaded files cannot be deployed; ``problems`` says why, each with element and line."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))


@dataclass
class CompatibilityNote:
    """An element or attribute that will be ignored or behave differently from BPMN or Camunda."""

    element_id: str
    line: int | None
    file: str
    feature: str
    effect: str

    def as_dict(self) -> dict:
        return {
            "element_id": self.element_id,
            "line": self.line,
            "file": self.file,
            "feature": self.feature,
            "effect": self.effect,
        }


@dataclass
class SourceFile:
    """One uploaded file: its name and bytes."""

    name: str
    content: bytes

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


@dataclass
class ProcessInfo:
    """What deploy needs to know about one process of a bundle."""

    key: str
    name: str
    executable: bool
    file: str
    called_processes: set[str] = field(default_factory=set)
    called_decisions: set[str] = field(default_factory=set)
    elements: dict[str, dict] = field(default_factory=dict)
    message_names: set[str] = field(default_factory=set)
    has_message_start: bool = False
    has_timer_start: bool = False


@dataclass
class BundleReport:
    """The outcome of validating a set of files deployed together."""

    dialect: str
    processes: dict[str, ProcessInfo]
    decisions: dict[str, str]  # decision id -> file name
    compatibility: list[CompatibilityNote]
    bpmn_files: list[SourceFile]
    dmn_files: list[SourceFile]


# ---------------------------------------------------------------------------
# Safe XML


def _xml_parser() -> etree.XMLParser:
    # No entity expansion, no DTD loading, no network: XXE and billion-laughs stay out.
    return etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False, huge_tree=False
    )


def as_utf8(content: bytes) -> bytes:
    """A file whose XML declaration names another encoding (ISO-8859-1, windows-1252...) as
    UTF-8 with the declaration changed to say so, as Camunda reads it; anything else as is."""
    head = content[:200].split(b"?>", 1)[0].lower()
    if not head.startswith(b"<?xml") or b"encoding" not in head:
        return content
    declared = (
        head.split(b"encoding", 1)[1].lstrip(b" =").strip()[1:].split(b'"')[0].split(b"'")[0].decode("ascii", "replace")
    )
    if declared.upper().replace("_", "-") in ("UTF-8", "UTF8", "US-ASCII", "ASCII"):
        return content
    try:
        text = content.decode(declared)
    except (LookupError, UnicodeDecodeError):
        return content  # read_xml reports it
    declaration, rest = text.split("?>", 1)
    declaration = re.sub(r"""encoding\s*=\s*["'][^"']*["']""", 'encoding="UTF-8"', declaration, count=1)
    return (declaration + "?>" + rest).encode("utf-8")


def read_xml(source: SourceFile, max_bytes: int = DEFAULT_MAX_BYTES) -> etree._ElementTree:
    """Parse one file safely, refusing DTDs, oversize files and malformed XML with the line."""
    if len(source.content) > max_bytes:
        raise DefinitionInvalid(
            [Problem(f"File is {len(source.content):,} bytes; the limit is {max_bytes:,} bytes", file=source.name)]
        )
    if not source.content.strip():
        raise DefinitionInvalid([Problem("File is empty", file=source.name)])
    try:
        tree = etree.ElementTree(etree.fromstring(source.content, _xml_parser()))
    except etree.XMLSyntaxError as exc:
        try:
            source.content.decode("utf-8")
        except UnicodeDecodeError as bad:
            raise DefinitionInvalid(
                [
                    Problem(
                        f"File is not valid UTF-8 (byte {bad.start + 1}); save it as UTF-8",
                        file=source.name,
                        line=exc.lineno,
                    )
                ]
            ) from None
        raise DefinitionInvalid([Problem(f"Not well-formed XML: {exc.msg}", file=source.name, line=exc.lineno)])
    encoding = (tree.docinfo.encoding or "UTF-8").upper().replace("_", "-")
    if encoding not in ("UTF-8", "UTF8", "US-ASCII", "ASCII"):
        raise DefinitionInvalid(
            [Problem(f"File is encoded as {tree.docinfo.encoding}; save it as UTF-8", file=source.name, line=1)]
        )
    try:
        source.content.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DefinitionInvalid(
            [Problem(f"File is not valid UTF-8 (byte {exc.start + 1}); save it as UTF-8", file=source.name)]
        ) from None
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise DefinitionInvalid(
            [
                Problem(
                    "Document type declarations (DOCTYPE) are not allowed in BPMN or DMN files",
                    file=source.name,
                    line=1,
                )
            ]
        )
    return tree


def kind_of(tree: etree._ElementTree) -> str:
    """Return 'bpmn' or 'dmn' for a parsed document, or raise when it is neither."""
    root = tree.getroot()
    qname = etree.QName(root)
    if qname.localname == "definitions" and qname.namespace == BPMN_NS:
        return "bpmn"
    if qname.localname == "definitions" and qname.namespace in DMN_NAMESPACES:
        return "dmn"
    raise DefinitionInvalid(
        [
            Problem(
                f"Not a BPMN 2.0 or DMN file: the root element is <{qname.localname}> in namespace "
                f"'{qname.namespace or ''}', expected <definitions> in '{BPMN_NS}'",
                line=root.sourceline,
            )
        ]
    )


def _uses_namespace(root: etree._Element, namespace: str) -> bool:
    return bool(root.xpath("boolean(//*[namespace-uri()=$ns] | //@*[namespace-uri()=$ns])", ns=namespace))


def dialect_of(trees: Iterable[etree._ElementTree]) -> str:
    """Camunda when a file uses camunda: extensions (and no spiffworkflow: ones), else Spiff.

    Spiff's parser is a superset of plain BPMN and handles message payloads the way
    plain diagrams expect; Camunda's reads camunda: forms, decisions and messages.
    """
    trees = list(trees)
    if any(_uses_namespace(t.getroot(), SPIFF_NS) for t in trees):
        return DIALECT_SPIFF
    if any(_uses_namespace(t.getroot(), CAMUNDA_NS) for t in trees):
        return DIALECT_CAMUNDA
    return DIALECT_SPIFF


_validator: BpmnValidator | None = None


def _xsd_validator() -> BpmnValidator:
    global _validator
    if _validator is None:
        _validator = BpmnValidator(imports={"spiffworkflow": SPIFF_XSD})
    return _validator


def _readable_xsd_message(message: str) -> str:
    """Shorten lxml's schema messages: bpmn: prefixes, and at most five expected elements."""
    message = message.replace(f"{{{BPMN_NS}}}", "bpmn:")
    if "Expected is one of (" in message:
        head, _, rest = message.partition("Expected is one of (")
        options = [o.strip() for o in rest.rstrip(" ).").split(",")]
        more = f", and {len(options) - 5} more" if len(options) > 5 else ""
        message = f"{head}Expected one of: {', '.join(options[:5])}{more}."
    return message


def _check_xsd(tree: etree._ElementTree, name: str) -> None:
    validator = _xsd_validator()
    # The validator rewrites one tag bpmn-js gets wrong; work on a copy so lines stay the user's.
    candidate = copy.deepcopy(tree)
    try:
        validator.validate(candidate, name)
    except ValidationException as exc:
        raise DefinitionInvalid(
            [
                Problem(
                    f"Not valid BPMN 2.0: {_readable_xsd_message(str(exc.args[0]))}",
                    file=name,
                    line=exc.line_number or None,
                )
            ]
        )
    errors = list(validator.validator.error_log)
    if errors:
        raise DefinitionInvalid(
            [
                Problem(f"Not valid BPMN 2.0: {_readable_xsd_message(e.message)}", file=name, line=e.line)
                for e in errors[:10]
            ]
        )


# ---------------------------------------------------------------------------
# Preprocessing: what SpiffWorkflow would silently get wrong


def _q(tag: str) -> str:
    return f"{{{BPMN_NS}}}{tag}"


def _preprocess(tree: etree._ElementTree) -> etree._ElementTree:
    """Return a copy with link events and signal end events rewritten into what SpiffWorkflow runs."""
    tree = copy.deepcopy(tree)
    for process in tree.getroot().iter(_q("process"), _q("subProcess")):
        _rewrite_links(process)
    for end in list(tree.getroot().iter(_q("endEvent"))):
        if end.find(_q("signalEventDefinition")) is not None:
            _rewrite_signal_end(end)
    for task in tree.getroot().iter(_q("userTask")):
        _stop_approval_chain_on_rejection(task)
    return tree


def approval_properties(task: etree._Element) -> dict[str, str]:
    """camunda:/spiffworkflow: properties of a task that start with 'approval' (docs/APPROVALS.md)."""
    found = {}
    for ns in (CAMUNDA_NS, SPIFF_NS):
        for prop in task.iterfind(f"{_q('extensionElements')}/{{{ns}}}properties/{{{ns}}}property"):
            name = prop.get("name") or ""
            if name == "approval" or name.startswith("approval."):
                found[name] = prop.get("value") or ""
    return found


def _stop_approval_chain_on_rejection(task: etree._Element) -> None:
    """A sequential multi-instance approval ends at the first rejection or change request,
    unless the diagram gives its own completion condition."""
    props = approval_properties(task)
    loop = task.find(_q("multiInstanceLoopCharacteristics"))
    if props.get("approval") != "true" or loop is None or loop.get("isSequential") != "true":
        return
    if loop.find(_q("completionCondition")) is not None:
        return
    variable = decision_variable(task.get("id"), props)
    condition = etree.SubElement(loop, _q("completionCondition"))
    condition.text = f"{variable} in ('rejected', 'changes_requested')"


def _rewrite_links(container: etree._Element) -> None:
    catches: dict[str, etree._Element] = {}
    throws: list[tuple[str, etree._Element]] = []
    for child in container:
        link = child.find(_q("linkEventDefinition"))
        if link is None:
            continue
        name = link.get("name") or child.get("name") or ""
        if child.tag == _q("intermediateCatchEvent"):
            catches[name] = child
        elif child.tag == _q("intermediateThrowEvent"):
            throws.append((name, child))
    for name, throw in throws:
        catch = catches.get(name)
        if catch is None:
            continue  # reported by _check_links
        flow = etree.SubElement(container, _q("sequenceFlow"))
        flow_id = f"{throw.get('id')}__link__{catch.get('id')}"
        flow.set("id", flow_id)
        flow.set("sourceRef", throw.get("id"))
        flow.set("targetRef", catch.get("id"))
        outgoing = etree.SubElement(throw, _q("outgoing"))
        outgoing.text = flow_id
        incoming = etree.SubElement(catch, _q("incoming"))
        incoming.text = flow_id
        throw.remove(throw.find(_q("linkEventDefinition")))
    for catch in catches.values():
        link = catch.find(_q("linkEventDefinition"))
        if link is not None:
            catch.remove(link)
            catch.tag = _q("intermediateThrowEvent")  # a none intermediate event just passes the token on


def _rewrite_signal_end(end: etree._Element) -> None:
    """endEvent(signal) -> intermediateThrowEvent(signal) -> endEvent, keeping the element id visible."""
    container = end.getparent()
    end_id = end.get("id")
    end.tag = _q("intermediateThrowEvent")
    plain_end = etree.SubElement(container, _q("endEvent"))
    plain_end.set("id", f"{end_id}__end")
    flow = etree.SubElement(container, _q("sequenceFlow"))
    flow.set("id", f"{end_id}__to_end")
    flow.set("sourceRef", end_id)
    flow.set("targetRef", plain_end.get("id"))


def _check_links(tree: etree._ElementTree, name: str) -> list[Problem]:
    problems = []
    for container in tree.getroot().iter(_q("process"), _q("subProcess")):
        catch_names = set()
        for catch in container.findall(_q("intermediateCatchEvent")):
            link = catch.find(_q("linkEventDefinition"))
            if link is not None:
                catch_names.add(link.get("name") or catch.get("name") or "")
        for throw in container.findall(_q("intermediateThrowEvent")):
            link = throw.find(_q("linkEventDefinition"))
            if link is not None:
                link_name = link.get("name") or throw.get("name") or ""
                if link_name not in catch_names:
                    problems.append(
                        Problem(
                            f"Link throw event '{link_name}' has no link catch event of the same name in its process",
                            file=name,
                            element_id=throw.get("id", ""),
                            line=throw.sourceline,
                        )
                    )
    return problems


# ---------------------------------------------------------------------------
# SpiffWorkflow parser subclasses (registered the SpiffWorkflow way: OVERRIDE_PARSER_CLASSES)


class _SignalEndMixin:
    """End events also parse signal definitions (SpiffWorkflow 3.2.0 drops them)."""

    def create_task(self):
        event_definition = self.get_event_definition(
            [
                MESSAGE_EVENT_XPATH,
                CANCEL_EVENT_XPATH,
                ERROR_EVENT_XPATH,
                ESCALATION_EVENT_XPATH,
                TERMINATION_EVENT_XPATH,
                SIGNAL_EVENT_XPATH,
            ]
        )
        task = self._create_task(event_definition)
        task.connect(self.spec.end)
        return task


class EngineCamundaEndEventParser(_SignalEndMixin, CamundaEndEventParser):
    pass


class EngineSpiffEndEventParser(_SignalEndMixin, SpiffEndEventParser):
    pass


class EngineCamundaSubWorkflowParser(CamundaSubWorkflowParser):
    """Camunda's parser runs event subprocesses as ordinary subprocesses; honour triggeredByEvent."""

    def create_task(self):
        subworkflow_spec = SubprocessParser.get_subprocess_spec(self)
        spec_class = EventSubprocess if self.attribute("triggeredByEvent") == "true" else self.spec_class
        return spec_class(self.spec, self.bpmn_id, subworkflow_spec=subworkflow_spec, **self.bpmn_attributes)


class ConnectorServiceTask(ServiceTask):
    """A service task with a connector: it waits for the job runner, which calls the
    connector outside the instance's transaction and then completes the task with the result."""

    def __init__(self, wf_spec, bpmn_id, **kwargs):
        super().__init__(wf_spec, bpmn_id, **kwargs)
        self.manual = True

    def _run_hook(self, my_task):
        return True  # the result was set as task data when the job completed the task


class PassThroughServiceTask(ServiceTask):
    """A service task nothing can run here (a Java delegate): it completes, as the
    compatibility report says, instead of failing the instance."""

    def _run_hook(self, my_task):
        return True


class EngineServiceTaskParser(CamundaTaskParser):
    """Service tasks with camunda:connector (or a `connector` property) wait for a job."""

    def create_task(self):
        if has_connector(self.node):
            return ConnectorServiceTask(self.spec, self.bpmn_id, **self.bpmn_attributes)
        return PassThroughServiceTask(self.spec, self.bpmn_id, **self.bpmn_attributes)


class EngineSpiffServiceTaskParser(SpiffServiceTaskParser):
    def create_task(self):
        if has_connector(self.node):
            return ConnectorServiceTask(self.spec, self.bpmn_id, **self.bpmn_attributes)
        return super().create_task()


def has_connector(node: etree._Element) -> bool:
    if node.find(f"{_q('extensionElements')}/{{{CAMUNDA_NS}}}connector") is not None:
        return True
    if node.find(f"{_q('extensionElements')}/{{{SPIFF_NS}}}serviceTaskOperator") is not None:
        return True
    for ns in (CAMUNDA_NS, SPIFF_NS):
        for prop in node.iterfind(f"{_q('extensionElements')}/{{{ns}}}properties/{{{ns}}}property"):
            if prop.get("name") == "connector":
                return True
    return False


class EngineCamundaParser(CamundaParser):
    OVERRIDE_PARSER_CLASSES = {
        **CamundaParser.OVERRIDE_PARSER_CLASSES,
        full_tag("serviceTask"): (EngineServiceTaskParser, ServiceTask),
        full_tag("endEvent"): (EngineCamundaEndEventParser, EndEvent),
        full_tag("subProcess"): (
            EngineCamundaSubWorkflowParser,
            CamundaParser.OVERRIDE_PARSER_CLASSES[full_tag("subProcess")][1],
        ),
    }


class EngineSpiffParser(SpiffBpmnParser):
    OVERRIDE_PARSER_CLASSES = {
        **SpiffBpmnParser.OVERRIDE_PARSER_CLASSES,
        full_tag("serviceTask"): (
            EngineSpiffServiceTaskParser,
            SpiffBpmnParser.OVERRIDE_PARSER_CLASSES[full_tag("serviceTask")][1],
        ),
        full_tag("endEvent"): (EngineSpiffEndEventParser, EndEvent),
    }


PARSERS = {DIALECT_CAMUNDA: EngineCamundaParser, DIALECT_SPIFF: EngineSpiffParser}


def _new_parser(dialect: str):
    return PARSERS[dialect]()


# ---------------------------------------------------------------------------
# Scanning: what a file defines and what it calls


def called_processes(tree: etree._ElementTree) -> set[str]:
    return {
        el.get("calledElement")
        for el in tree.getroot().iter(_q("callActivity"))
        if el.get("calledElement") and not el.get("calledElement").startswith(("${", "#{", "="))
    }


def called_decisions(tree: etree._ElementTree) -> set[str]:
    refs = set()
    for el in tree.getroot().iter(_q("businessRuleTask")):
        ref = el.get(f"{{{CAMUNDA_NS}}}decisionRef")
        if ref:
            refs.add(ref)
        for spiff_ref in el.iter(f"{{{SPIFF_NS}}}calledDecisionId"):
            if spiff_ref.text:
                refs.add(spiff_ref.text.strip())
    return refs


def decision_ids(tree: etree._ElementTree) -> set[str]:
    root = tree.getroot()
    return {el.get("id") for el in root if etree.QName(el).localname == "decision" and el.get("id")}


def process_ids(tree: etree._ElementTree) -> list[tuple[str, bool, etree._Element]]:
    return [(p.get("id"), p.get("isExecutable", "true") == "true", p) for p in tree.getroot().iter(_q("process"))]


# ---------------------------------------------------------------------------
# Expression and script checks


def _compile_check(problems: list[Problem], text: str | None, element: etree._Element, file: str, what: str) -> None:
    if text is None or not text.strip():
        return
    owner = element
    while owner is not None and not owner.get("id"):
        owner = owner.getparent()
    element_id = owner.get("id", "") if owner is not None else ""
    try:
        python = expressions.to_python(text)
        scripting.compile_expression(python)
    except (SyntaxError, expressions.ExpressionSyntaxError) as exc:
        problems.append(
            Problem(
                f"{what} '{text.strip()}' is not allowed: {_syntax_reason(exc)}", file, element_id, element.sourceline
            )
        )


def _syntax_reason(exc: Exception) -> str:
    if isinstance(exc, SyntaxError) and exc.args and isinstance(exc.args[0], tuple):
        return "; ".join(exc.args[0])
    return str(exc.args[0] if exc.args else exc)


def _check_code(tree: etree._ElementTree, name: str, scripts_enabled: bool) -> list[Problem]:
    problems: list[Problem] = []
    root = tree.getroot()
    for task in root.iter(_q("scriptTask")):
        script = task.find(_q("script"))
        fmt = (task.get("scriptFormat") or "python").lower()
        if not scripts_enabled:
            problems.append(
                Problem(
                    "Script tasks are turned off on this server (BPM_SCRIPT_TASKS_ENABLED)",
                    name,
                    task.get("id", ""),
                    task.sourceline,
                )
            )
            continue
        if fmt not in ("python", "py", "text/x-python"):
            problems.append(
                Problem(
                    f"Script format '{fmt}' is not supported; scripts are Python",
                    name,
                    task.get("id", ""),
                    task.sourceline,
                )
            )
            continue
        if script is None or not (script.text or "").strip():
            problems.append(Problem("Script task has no script", name, task.get("id", ""), task.sourceline))
            continue
        try:
            scripting.compile_script(script.text)
        except SyntaxError as exc:
            line = script.sourceline + (exc.lineno or 1) - 1 if isinstance(exc.lineno, int) else script.sourceline
            problems.append(Problem(f"Script is not allowed: {_syntax_reason(exc)}", name, task.get("id", ""), line))
    for cond in root.iter(_q("conditionExpression"), _q("completionCondition"), _q("loopCardinality")):
        what = {"conditionExpression": "Condition", "completionCondition": "Completion condition"}.get(
            etree.QName(cond).localname, "Loop cardinality"
        )
        _compile_check(problems, cond.text, cond, name, what)
    for timer in root.iter(_q("timeDuration"), _q("timeDate"), _q("timeCycle")):
        _compile_check(problems, timer.text, timer, name, "Timer expression")
    for cond in root.iter(_q("condition")):
        _compile_check(problems, cond.text, cond, name, "Condition")
    return problems


# ---------------------------------------------------------------------------
# Element metadata: what Camunda Modeler writes that SpiffWorkflow ignores


_CAMUNDA_TASK_ATTRS = (
    "assignee",
    "candidateUsers",
    "candidateGroups",
    "dueDate",
    "followUpDate",
    "priority",
    "formKey",
)


def _documentation(el: etree._Element) -> str:
    return "\n".join((d.text or "").strip() for d in el.findall(_q("documentation"))).strip()


def element_metadata(process: etree._Element) -> dict[str, dict]:
    """Per element id: type, name, lane, documentation and the Camunda/Spiff extension values."""
    lanes: dict[str, str] = {}
    for lane in process.iter(_q("lane")):
        for ref in lane.findall(_q("flowNodeRef")):
            if ref.text:
                lanes[ref.text.strip()] = lane.get("name") or lane.get("id")
    metadata: dict[str, dict] = {}
    for el in process.iter():
        if not isinstance(el.tag, str) or etree.QName(el).namespace != BPMN_NS or not el.get("id"):
            continue
        kind = etree.QName(el).localname
        if kind in ("lane", "laneSet", "flowNodeRef", "documentation", "extensionElements"):
            continue
        entry: dict = {"type": kind, "name": el.get("name") or ""}
        if el.get("id") in lanes:
            entry["lane"] = lanes[el.get("id")]
        doc = _documentation(el)
        if doc:
            entry["documentation"] = doc
        camunda = {attr: el.get(f"{{{CAMUNDA_NS}}}{attr}") for attr in _CAMUNDA_TASK_ATTRS}
        camunda = {k: v for k, v in camunda.items() if v is not None}
        io = el.find(f"{_q('extensionElements')}/{{{CAMUNDA_NS}}}inputOutput")
        if io is not None:
            camunda["inputOutput"] = {
                "inputs": {
                    p.get("name"): (p.text or "").strip() for p in io.findall(f"{{{CAMUNDA_NS}}}inputParameter")
                },
                "outputs": {
                    p.get("name"): (p.text or "").strip() for p in io.findall(f"{{{CAMUNDA_NS}}}outputParameter")
                },
            }
        props = el.findall(f"{_q('extensionElements')}/{{{CAMUNDA_NS}}}properties/{{{CAMUNDA_NS}}}property")
        if props:
            camunda["properties"] = {p.get("name"): p.get("value") for p in props}
        fields = el.findall(f"{_q('extensionElements')}/{{{CAMUNDA_NS}}}formData/{{{CAMUNDA_NS}}}formField")
        if fields:
            camunda["formFields"] = [_form_field(f) for f in fields]
        if camunda:
            entry["camunda"] = camunda
        spiff_props = el.findall(f"{_q('extensionElements')}/{{{SPIFF_NS}}}properties/{{{SPIFF_NS}}}property")
        if spiff_props:
            entry["spiff"] = {"properties": {p.get("name"): p.get("value") for p in spiff_props}}
        spiff_instructions = el.find(f"{_q('extensionElements')}/{{{SPIFF_NS}}}instructionsForEndUser")
        if spiff_instructions is not None and (spiff_instructions.text or "").strip():
            entry.setdefault("spiff", {})["instructionsForEndUser"] = spiff_instructions.text.strip()
        connector = _connector_metadata(el)
        if connector:
            entry["connector"] = connector
        timer = el.find(_q("timerEventDefinition"))
        if timer is not None:
            for timer_kind in ("timeCycle", "timeDate", "timeDuration"):
                value = timer.find(_q(timer_kind))
                if value is not None and (value.text or "").strip():
                    entry["timer"] = {"kind": timer_kind, "expression": value.text.strip()}
        if kind in ("sequenceFlow",):
            entry["source"] = el.get("sourceRef")
            entry["target"] = el.get("targetRef")
        for definition_tag, key, ref_tag in (
            ("messageEventDefinition", "message", "message"),
            ("signalEventDefinition", "signal", "signal"),
        ):
            found = el.find(_q(definition_tag))
            if found is not None and found.get(f"{ref_tag}Ref"):
                ref = found.get(f"{ref_tag}Ref")
                named = el.getroottree().getroot().xpath(f"//bpmn:{ref_tag}[@id=$r]", namespaces=NS, r=ref)
                entry[key] = (named[0].get("name") or ref) if named else ref
        if kind == "receiveTask" and el.get("messageRef"):
            named = el.getroottree().getroot().xpath("//bpmn:message[@id=$r]", namespaces=NS, r=el.get("messageRef"))
            entry["message"] = (named[0].get("name") or el.get("messageRef")) if named else el.get("messageRef")
        metadata[el.get("id")] = entry
    return metadata


def _parameter_value(param: etree._Element):
    """A camunda:inputParameter's value: text, or a camunda:map / camunda:list."""
    ns = f"{{{CAMUNDA_NS}}}"
    mapping = param.find(f"{ns}map")
    if mapping is not None:
        return {e.get("key"): (e.text or "").strip() for e in mapping.findall(f"{ns}entry")}
    listing = param.find(f"{ns}list")
    if listing is not None:
        return [(v.text or "").strip() for v in listing.findall(f"{ns}value")]
    return (param.text or "").strip()


def _connector_metadata(el: etree._Element) -> dict:
    """Connector settings of a service task: id, inputs, outputs and retries."""
    if etree.QName(el).localname != "serviceTask" or not has_connector(el):
        return {}
    ns = f"{{{CAMUNDA_NS}}}"
    result: dict = {"id": "http-connector", "inputs": {}, "outputs": {}}
    connector = el.find(f"{_q('extensionElements')}/{ns}connector")
    if connector is not None:
        result["id"] = (connector.findtext(f"{ns}connectorId") or "http-connector").strip()
        io = connector.find(f"{ns}inputOutput")
        if io is not None:
            result["inputs"] = {p.get("name"): _parameter_value(p) for p in io.findall(f"{ns}inputParameter")}
            result["outputs"] = {p.get("name"): (p.text or "").strip() for p in io.findall(f"{ns}outputParameter")}
    operator = el.find(f"{_q('extensionElements')}/{{{SPIFF_NS}}}serviceTaskOperator")
    if operator is not None:  # SpiffArena's service task: the operator is the connector
        result["id"] = operator.get("id") or result["id"]
        result["inputs"] = {
            p.get("id"): (p.get("value") or "") for p in operator.iter(f"{{{SPIFF_NS}}}parameter") if p.get("id")
        }
        if operator.get("resultVariable"):
            result["result_variable"] = operator.get("resultVariable")
    for nsx in (CAMUNDA_NS, SPIFF_NS):
        for prop in el.iterfind(f"{_q('extensionElements')}/{{{nsx}}}properties/{{{nsx}}}property"):
            name = prop.get("name") or ""
            if name == "connector":
                result["id"] = prop.get("value") or result["id"]
            elif name.startswith("error."):  # error.404=NOT_FOUND: that failure throws a BPMN error
                result.setdefault("errors", {})[name[len("error.") :]] = prop.get("value") or ""
    cycle = el.findtext(f"{_q('extensionElements')}/{ns}failedJobRetryTimeCycle") or el.get(
        f"{ns}failedJobRetryTimeCycle"
    )
    if cycle:
        import re as _re

        match = _re.match(r"R(\d+)/", cycle.strip())
        if match:
            result["retries"] = int(match.group(1))
    return result


def _form_field(field_el: etree._Element) -> dict:
    ns = f"{{{CAMUNDA_NS}}}"
    result = {
        "id": field_el.get("id"),
        "label": field_el.get("label") or field_el.get("id"),
        "type": field_el.get("type") or "string",
        "defaultValue": field_el.get("defaultValue"),
        "validation": [{"name": c.get("name"), "config": c.get("config")} for c in field_el.iter(f"{ns}constraint")],
    }
    values = [{"id": v.get("id"), "name": v.get("name")} for v in field_el.findall(f"{ns}value")]
    if values:
        result["values"] = values
    return result


# ---------------------------------------------------------------------------
# Compatibility report


_IGNORED_CAMUNDA_ATTRS = {
    "class": "Java delegate classes are not run; the service task completes without calling anything",
    "delegateExpression": "Java delegate expressions are not run; the service task completes without calling anything",
    "expression": "Camunda method expressions are not run",
    "asyncBefore": "Asynchronous continuations are not used; the step runs in the caller's transaction",
    "asyncAfter": "Asynchronous continuations are not used; the step runs in the caller's transaction",
    "exclusive": "Job exclusivity is ignored (every instance is locked while it changes)",
    "jobPriority": "Job priorities are ignored",
    "taskPriority": "External task priorities are ignored",
    "historyTimeToLive": "History clean-up is not configured per process",
    "calledElementBinding": "Call activities always call the latest deployed version",
    "calledElementVersion": "Call activities always call the latest deployed version",
    "calledElementTenantId": "Tenants are not supported; the tenant id is ignored",
    "decisionRefBinding": "Business rule tasks always use the latest deployed decision",
    "decisionRefVersion": "Business rule tasks always use the latest deployed decision",
    "decisionRefTenantId": "Tenants are not supported; the tenant id is ignored",
    "mapDecisionResult": "The decision result is always mapped as SpiffWorkflow does (the matched row's outputs)",
    "resultVariable": "The result is merged into the task data instead of one result variable",
    "formRef": "Camunda Forms (form-js) are not rendered; use camunda:formData fields",
    "formRefBinding": "Camunda Forms (form-js) are not rendered",
    "formRefVersion": "Camunda Forms (form-js) are not rendered",
    "variableMappingClass": "Java variable mapping classes are not run",
    "variableMappingDelegateExpression": "Java variable mapping delegates are not run",
    "errorCodeVariable": "The error code is not stored in a variable",
    "errorMessageVariable": "The error message is not stored in a variable",
    "versionTag": "Kept for information only",
    "candidateStarterGroups": "Who may start is set by object permissions on the definition, not by the diagram",
    "candidateStarterUsers": "Who may start is set by object permissions on the definition, not by the diagram",
    "initiator": "The initiator is available as the variable 'initiator' regardless of this attribute",
    "type": "External tasks are not supported; the service task completes without calling anything",
    "topic": "External tasks are not supported",
    "collection": "Multi-instance collections are evaluated as Python or translated JUEL",
    "elementVariable": "Kept: the element variable is set per instance",
}
_IGNORED_CAMUNDA_ELEMENTS = {
    "executionListener": "Execution listeners are not run",
    "taskListener": "Task listeners are not run",
    "in": "Call activities pass all variables in both directions (SpiffWorkflow's behaviour), not only mapped ones",
    "out": "Call activities pass all variables in both directions (SpiffWorkflow's behaviour), not only mapped ones",
    "failedJobRetryTimeCycle": "Only the number of retries (R<n>/...) is used; the delay follows the engine's backoff",
    "field": "Java delegate field injection is ignored",
    "script": "Camunda script extensions (listeners, I/O scripts) are not run",
}
_UNSUPPORTED_BPMN = {
    "compensateEventDefinition": "Compensation is not supported and is ignored",
    "conditionalEventDefinition": "Conditional events are evaluated only when SpiffWorkflow refreshes waiting events",
    "complexGateway": "Complex gateways are not supported",
    "dataStoreReference": "Data stores are not supported",
    "standardLoopCharacteristics": "Standard loops run as SpiffWorkflow implements them (test after each pass)",
    "adHocSubProcess": "Ad-hoc subprocesses run as SpiffWorkflow implements them",
}


def compatibility_report(tree: etree._ElementTree, file: str) -> list[CompatibilityNote]:
    """List what will be ignored or behave differently, each with its element id and line."""
    notes: list[CompatibilityNote] = []
    for el in tree.getroot().iter():
        if not isinstance(el.tag, str):
            continue
        owner = el
        while owner is not None and not owner.get("id"):
            owner = owner.getparent()
        owner_id = owner.get("id", "") if owner is not None else ""
        qname = etree.QName(el)
        if qname.namespace == BPMN_NS:
            for attr in el.attrib:
                aq = etree.QName(attr)
                if aq.namespace == CAMUNDA_NS and aq.localname in _IGNORED_CAMUNDA_ATTRS:
                    notes.append(
                        CompatibilityNote(
                            owner_id,
                            el.sourceline,
                            file,
                            f"camunda:{aq.localname}",
                            _IGNORED_CAMUNDA_ATTRS[aq.localname],
                        )
                    )
                if aq.namespace == ZEEBE_NS:
                    notes.append(
                        CompatibilityNote(
                            owner_id,
                            el.sourceline,
                            file,
                            f"zeebe:{aq.localname}",
                            "Camunda 8 (Zeebe) attributes are ignored",
                        )
                    )
            if qname.localname in _UNSUPPORTED_BPMN:
                notes.append(
                    CompatibilityNote(
                        owner_id, el.sourceline, file, f"bpmn:{qname.localname}", _UNSUPPORTED_BPMN[qname.localname]
                    )
                )
            if qname.localname == "sequenceFlow" and not el.get("id"):
                notes.append(
                    CompatibilityNote(
                        el.get("sourceRef") or "",
                        el.sourceline,
                        file,
                        "sequence flow without id",
                        f"The flow from '{el.get('sourceRef')}' to '{el.get('targetRef')}' has no id and is ignored (give it an id)",
                    )
                )
            if qname.localname in ("linkEventDefinition",):
                notes.append(
                    CompatibilityNote(
                        owner_id,
                        el.sourceline,
                        file,
                        "bpmn:linkEventDefinition",
                        "Link events are run as a direct flow from the throw to the catch event",
                    )
                )
            if qname.localname == "endEvent" and el.find(_q("signalEventDefinition")) is not None:
                notes.append(
                    CompatibilityNote(
                        owner_id,
                        el.sourceline,
                        file,
                        "signal end event",
                        "Run as a signal throw followed by a plain end event",
                    )
                )
            if qname.localname in (
                "conditionExpression",
                "timeDuration",
                "timeDate",
                "timeCycle",
                "completionCondition",
            ):
                dialect = expressions.dialect_of(el.text)
                if dialect in ("juel", "feel"):
                    notes.append(
                        CompatibilityNote(
                            owner_id,
                            el.sourceline,
                            file,
                            f"{dialect} expression",
                            f"Translated to the restricted Python expression '{expressions.to_python(el.text)}'",
                        )
                    )
        elif qname.namespace == CAMUNDA_NS and qname.localname in _IGNORED_CAMUNDA_ELEMENTS:
            notes.append(
                CompatibilityNote(
                    owner_id,
                    el.sourceline,
                    file,
                    f"camunda:{qname.localname}",
                    _IGNORED_CAMUNDA_ELEMENTS[qname.localname],
                )
            )
        elif qname.namespace == CAMUNDA_NS and qname.localname == "inputOutput":
            notes.append(
                CompatibilityNote(
                    owner_id,
                    el.sourceline,
                    file,
                    "camunda:inputOutput",
                    "Input/output mappings are recorded as task metadata; they are not applied to variables",
                )
            )
        elif qname.namespace == ZEEBE_NS:
            notes.append(
                CompatibilityNote(
                    owner_id,
                    el.sourceline,
                    file,
                    f"zeebe:{qname.localname}",
                    "Camunda 8 (Zeebe) extensions are ignored",
                )
            )
    # one note per element and feature is enough
    seen = set()
    unique = []
    for note in notes:
        key = (note.file, note.element_id, note.feature)
        if key not in seen:
            seen.add(key)
            unique.append(note)
    return unique


# ---------------------------------------------------------------------------
# Validation of a bundle (the files deployed together)


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
        raise DefinitionInvalid(
            [Problem("No BPMN file was uploaded (only DMN): upload the diagram with its decision tables")]
        )

    processes: dict[str, ProcessInfo] = {}
    for source in bpmn_files:
        tree = trees[source.name]
        problems.extend(_check_links(tree, source.name))
        problems.extend(_check_code(tree, source.name, scripts_enabled))
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
    if problems:
        raise DefinitionInvalid(problems)

    all_bpmn = list(bpmn_files) + [f for f in deployed_processes.values() if f.name not in trees]
    all_dmn = list(dmn_files) + [f for f in deployed_decisions.values() if f.name not in trees]
    dialect = dialect_of([trees[f.name] for f in bpmn_files])
    for info in executable:
        try:
            build_specs(info.key, dialect, all_bpmn, all_dmn)
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


def build_specs(process_key: str, dialect: str, bpmn_files: list[SourceFile], dmn_files: list[SourceFile]):
    """Parse files into (spec, subprocess_specs) for one process; the caller caches the result."""
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
    spec = parser.get_spec(process_key)
    subprocess_specs = parser.get_subprocess_specs(process_key)
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
