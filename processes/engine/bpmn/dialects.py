"""SpiffWorkflow parser subclasses for the Camunda and Spiff dialects (OVERRIDE_PARSER_CLASSES)."""

from __future__ import annotations

from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import full_tag
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
from SpiffWorkflow.bpmn.specs.defaults import EndEvent, EventSubprocess, ManualTask, NoneTask, ServiceTask
from SpiffWorkflow.camunda.parser.CamundaParser import CamundaParser
from SpiffWorkflow.camunda.parser.event_parsers import CamundaEndEventParser
from SpiffWorkflow.camunda.parser.task_spec import CamundaTaskParser
from SpiffWorkflow.camunda.parser.task_spec import SubWorkflowParser as CamundaSubWorkflowParser
from SpiffWorkflow.spiff.parser.event_parsers import SpiffEndEventParser
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.spiff.parser.task_spec import ServiceTaskParser as SpiffServiceTaskParser

from .constants import CAMUNDA_NS, DIALECT_CAMUNDA, DIALECT_SPIFF, SPIFF_NS
from .preprocess import _q


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


class JavaServiceTask(ConnectorServiceTask):
    """A service task implemented in Java (camunda:class, delegateExpression, expression):
    it waits for a job like a connector task. The job runs the connector an administrator
    bound the class to (settings BPM['JAVA_CLASS_BINDINGS']) or fails into an incident
    naming the class; it never completes without doing its work."""


class ExternalServiceTask(ServiceTask):
    """camunda:type="external": waits until a worker completes it (fetch-and-lock by topic)."""

    def __init__(self, wf_spec, bpmn_id, topic: str = "", **kwargs):
        super().__init__(wf_spec, bpmn_id, **kwargs)
        self.manual = True
        self.topic = topic

    def _run_hook(self, my_task):
        return True  # the worker's variables were set as task data when it completed the task


JAVA_ATTRIBUTES = ("class", "delegateExpression", "expression")


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
        if self.node.get(f"{{{CAMUNDA_NS}}}type") == "external":
            topic = self.node.get(f"{{{CAMUNDA_NS}}}topic") or ""
            return ExternalServiceTask(self.spec, self.bpmn_id, topic=topic, **self.bpmn_attributes)
        if any(self.node.get(f"{{{CAMUNDA_NS}}}{name}") for name in JAVA_ATTRIBUTES):
            return JavaServiceTask(self.spec, self.bpmn_id, **self.bpmn_attributes)
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


def _interrupting_aware(parser_class):
    """A start event parser that records isInterrupting on the spec (SpiffWorkflow drops it):
    an interrupting event subprocess cancels the rest of its scope when it starts."""

    class StartEventParser(parser_class):
        def create_task(self):
            task = super().create_task()
            task.interrupting = (self.node.get("isInterrupting") or "true").lower() != "false"
            return task

    StartEventParser.__name__ = f"Interrupting{parser_class.__name__}"
    return StartEventParser


class TriggeredReceiveTask(ManualTask):
    """A receive task without a message: a wait state, as in Camunda, until it is triggered
    (its step completed through the service layer or the API), instead of passing at once."""


def _triggered_receive_aware(parser_class):
    class ReceiveTaskParser(parser_class):
        def create_task(self):
            has_message = self.node.get("messageRef") or self.node.find(_q("messageEventDefinition")) is not None
            if has_message:
                return super().create_task()
            return TriggeredReceiveTask(self.spec, self.bpmn_id, **self.bpmn_attributes)

    ReceiveTaskParser.__name__ = f"Triggered{parser_class.__name__}"
    return ReceiveTaskParser


def _camunda_multi_instance(parser_class):
    """A parser that reads Camunda's multi-instance attributes (camunda:collection,
    elementVariable) like Camunda's task parser; SpiffWorkflow uses the plain one for
    receive, script and send tasks, and refuses their multi-instance."""

    class CamundaMultiInstanceParser(parser_class):
        _add_multiinstance_task = CamundaTaskParser._add_multiinstance_task

    CamundaMultiInstanceParser.__name__ = f"CamundaMultiInstance{parser_class.__name__}"
    return CamundaMultiInstanceParser


CamundaReceiveTaskParser = _camunda_multi_instance(CamundaParser.PARSER_CLASSES[full_tag("receiveTask")][0])


class PassThroughNoneTask(NoneTask):
    """A plain bpmn:task in a Camunda diagram passes straight through, as in Camunda 7."""

    def __init__(self, wf_spec, bpmn_id, **kwargs):
        super().__init__(wf_spec, bpmn_id, **kwargs)
        self.manual = False


class PassThroughManualTask(ManualTask):
    """A manualTask in a Camunda diagram passes straight through, as in Camunda 7 (the work is
    done outside any system); Spiff diagrams keep SpiffArena's waiting manual task."""

    def __init__(self, wf_spec, bpmn_id, **kwargs):
        super().__init__(wf_spec, bpmn_id, **kwargs)
        self.manual = False


class EngineCamundaParser(CamundaParser):
    """Camunda's parser with our DMN engine: every decision of a file, DRDs, FEEL, all hit
    policies, and the task's camunda:resultVariable / mapDecisionResult (engine/dmn.py)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.bpm_decisions: dict = {}

    def add_dmn_xml(self, node, filename=None):
        from .. import dmn  # the DMN engine reads bpmn.results: imported when first used

        self.bpm_decisions.update(dmn.parse_decisions(node, filename or ""))

    def get_engine(self, decision_ref, node):
        from .. import dmn

        dynamic = "${" in decision_ref or "#{" in decision_ref  # evaluated when the task runs
        if decision_ref not in self.bpm_decisions and not dynamic:
            available = ", ".join(sorted(self.bpm_decisions)) or "none"
            raise ValidationException(
                f'No decision "{decision_ref}" is deployed (decisions: {available})', node=node, file_name=""
            )
        return dmn.DecisionEngine(
            self.bpm_decisions,
            decision_ref,
            result_variable=node.get(f"{{{CAMUNDA_NS}}}resultVariable") or "",
            mapping=node.get(f"{{{CAMUNDA_NS}}}mapDecisionResult") or "",
            binding={
                "binding": node.get(f"{{{CAMUNDA_NS}}}decisionRefBinding") or "latest",
                "version": node.get(f"{{{CAMUNDA_NS}}}decisionRefVersion") or "",
            },
        )

    OVERRIDE_PARSER_CLASSES = {
        **CamundaParser.OVERRIDE_PARSER_CLASSES,
        full_tag("serviceTask"): (EngineServiceTaskParser, ServiceTask),
        full_tag("endEvent"): (EngineCamundaEndEventParser, EndEvent),
        full_tag("receiveTask"): (
            _triggered_receive_aware(CamundaReceiveTaskParser),
            CamundaParser.PARSER_CLASSES[full_tag("receiveTask")][1],
        ),
        full_tag("task"): (CamundaTaskParser, PassThroughNoneTask),
        full_tag("manualTask"): (CamundaTaskParser, PassThroughManualTask),
        full_tag("scriptTask"): (
            _camunda_multi_instance(CamundaParser.OVERRIDE_PARSER_CLASSES[full_tag("scriptTask")][0]),
            CamundaParser.OVERRIDE_PARSER_CLASSES[full_tag("scriptTask")][1],
        ),
        full_tag("sendTask"): (
            _camunda_multi_instance(CamundaParser.PARSER_CLASSES[full_tag("sendTask")][0]),
            CamundaParser.PARSER_CLASSES[full_tag("sendTask")][1],
        ),
        full_tag("startEvent"): (
            _interrupting_aware(CamundaParser.OVERRIDE_PARSER_CLASSES[full_tag("startEvent")][0]),
            CamundaParser.OVERRIDE_PARSER_CLASSES[full_tag("startEvent")][1],
        ),
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
        full_tag("receiveTask"): (
            _triggered_receive_aware(SpiffBpmnParser.OVERRIDE_PARSER_CLASSES[full_tag("receiveTask")][0]),
            SpiffBpmnParser.OVERRIDE_PARSER_CLASSES[full_tag("receiveTask")][1],
        ),
        full_tag("startEvent"): (
            _interrupting_aware(SpiffBpmnParser.OVERRIDE_PARSER_CLASSES[full_tag("startEvent")][0]),
            SpiffBpmnParser.OVERRIDE_PARSER_CLASSES[full_tag("startEvent")][1],
        ),
    }


PARSERS = {DIALECT_CAMUNDA: EngineCamundaParser, DIALECT_SPIFF: EngineSpiffParser}


def _new_parser(dialect: str):
    return PARSERS[dialect]()
