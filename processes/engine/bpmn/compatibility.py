"""The compatibility report: what the engine ignores or does differently from Camunda, per element."""

from __future__ import annotations

from lxml import etree

from .. import expressions
from .constants import BPMN_NS, CAMUNDA_NS, ZEEBE_NS
from .preprocess import _q
from .results import CompatibilityNote

_IGNORED_CAMUNDA_ATTRS = {
    "class": "Java is not run here: the task waits as a job that fails into an incident until an administrator "
    "binds the class to a connector (settings BPM['JAVA_CLASS_BINDINGS']) and retries it",
    "delegateExpression": "Java is not run here: the task waits as a job that fails into an incident until an "
    "administrator binds the expression to a connector (settings BPM['JAVA_CLASS_BINDINGS']) and retries it",
    "expression": "Method expressions are not run here: the task waits as a job that fails into an incident until "
    "an administrator binds the expression to a connector (settings BPM['JAVA_CLASS_BINDINGS']) and retries it",
    "asyncBefore": "Kept: a transaction boundary; the command commits before this step and a job runs it "
    "(retried, then an incident; BPM_ASYNC_RETRIES)",
    "asyncAfter": "Kept: a transaction boundary; the command commits after this step and a job goes on "
    "(retried, then an incident; BPM_ASYNC_RETRIES)",
    "exclusive": "Job exclusivity is ignored (every instance is locked while it changes)",
    "jobPriority": "Job priorities are ignored",
    "taskPriority": "Kept: external tasks are fetched highest priority first when a worker asks (usePriority)",
    "historyTimeToLive": "Kept: ended instances of this process are removed with their history after so many days "
    "(the daily clean-up, docs/OPERATIONS.md)",
    "calledElementBinding": "Kept: latest (the default; the active version when the call happens), deployment, "
    "version or versionTag, as in Camunda; a call already running goes on in the version it started",
    "calledElementVersion": 'Kept: the version a calledElementBinding="version" call runs',
    "calledElementVersionTag": "Kept: the newest version with this camunda:versionTag runs",
    "calledElementTenantId": "Tenants are not supported; the tenant id is ignored",
    "decisionRefBinding": "Kept: latest (the default; the newest decision deployed when the task runs), deployment or "
    "version, as in Camunda (versionTag is refused at deploy)",
    "decisionRefVersion": 'Kept: the version a decisionRefBinding="version" task evaluates (a number or an expression)',
    "decisionRefTenantId": "Tenants are not supported; the tenant id is ignored",
    "mapDecisionResult": "Kept: singleEntry, singleResult, collectEntries or resultList (the default), as in Camunda",
    "resultVariable": "Kept: the decision result, mapped by mapDecisionResult, is stored in this variable (without "
    "it the matched outputs are merged into the variables; Camunda keeps nothing)",
    "formRef": "Kept: the Camunda Form (deployed beside the diagram) is drawn with form-js in the inbox and its "
    "fields are validated again on the server",
    "formRefBinding": "The form deployed with the diagram is used (binding is not read)",
    "formRefVersion": "The form deployed with the diagram is used (the version is not read)",
    "variableMappingClass": "Java variable mapping classes are not run: the call activity's camunda:in/out (or, "
    "without them, every variable) decide what passes",
    "variableMappingDelegateExpression": "Java variable mapping delegates are not run: the call activity's "
    "camunda:in/out (or, without them, every variable) decide what passes",
    "errorCodeVariable": "Kept: the caught error's code is stored in this variable",
    "errorMessageVariable": "Kept: the message a worker or a connector gave with the error is stored in this variable "
    "(an error end event gives none: null)",
    "versionTag": 'Kept: calls with calledElementBinding="versionTag" find the version by it; /engine-rest shows it',
    "candidateStarterGroups": "Who may start is set by object permissions on the definition, not by the diagram",
    "candidateStarterUsers": "Who may start is set by object permissions on the definition, not by the diagram",
    "initiator": "Kept: the variable it names holds the starting user's username (also in 'initiator')",
    "type": "Kept: an external task waits for a worker (listed as waiting, kind 'external', with its topic)",
    "topic": "Kept: the external task's topic",
    "collection": "Multi-instance collections are evaluated as Python or translated JUEL",
    "elementVariable": "Kept: the element variable is set per instance",
}
_IGNORED_CAMUNDA_ELEMENTS = {
    "executionListener": "Execution listeners are not run",
    "taskListener": "Task listeners are not run",
    "in": 'Kept: source, sourceExpression, target, variables="all" and local map variables into the called '
    'process; businessKey="#{execution.processBusinessKey}" as in Camunda (the called process shares its caller\'s '
    "instance and business key; another business key is refused at deploy); a call activity without any "
    "camunda:in/out passes every variable both ways (Camunda passes none)",
    "out": 'Kept: source, sourceExpression, target, variables="all" and local (values local to the call activity, '
    "for its output parameters) map variables back to the caller",
    "failedJobRetryTimeCycle": "Only the number of retries (R<n>/...) is used; the delay follows the engine's backoff",
    "field": "Java delegate field injection is ignored",
    "script": "A listener's script is not run (with its listener); an input/output parameter's script runs as one "
    "Python expression",
}
_UNSUPPORTED_BPMN = {
    "compensateEventDefinition": "Kept: compensation boundary events with a handler, compensation throw and end "
    "events (docs/MODELING.md); compensation event subprocesses are refused at deploy",
    "conditionalEventDefinition": "Conditional events are evaluated on arrival and again after every command "
    "(variables set, a task completed, a message), against the variables of their own branch; conditional starts "
    "of event subprocesses are not triggered yet",
    "dataStoreReference": "Documentation only, as in Camunda: the data store and its associations are not executed",
    "standardLoopCharacteristics": "SpiffWorkflow diagrams: the loop runs as SpiffWorkflow implements it (its condition is "
    "tested after each pass); in Camunda diagrams it is refused at deploy",
}


def _form_key_effect(form_key: str) -> str:
    if form_key.startswith(("embedded:", "app:")):
        return (
            f"Embedded HTML forms are not rendered ('{form_key}'): the task shows its camunda:formData fields, "
            "else a form generated from its variables (one field per simple variable)"
        )
    if form_key.startswith("camunda-forms:"):
        return (
            "Kept: the Camunda Form is drawn with form-js in the inbox and its fields are validated again on "
            "the server (deploy the .form file with the diagram)"
        )
    return ""


def _camunda_default_difference(el: etree._Element, kind: str) -> tuple[str, str] | None:
    """Where leaving a Camunda attribute out behaves differently here: (feature, effect)."""
    extensions = el.find(_q("extensionElements"))
    names = {etree.QName(c).localname for c in extensions} if extensions is not None else set()
    if kind == "callActivity" and not names & {"in", "out"}:
        return (
            "call activity without camunda:in/out",
            "Every variable passes into the called process and back (Camunda passes none without mappings)",
        )
    if (
        kind == "businessRuleTask"
        and el.get(f"{{{CAMUNDA_NS}}}decisionRef")
        and not el.get(f"{{{CAMUNDA_NS}}}resultVariable")
    ):
        return (
            "business rule task without camunda:resultVariable",
            "The matched outputs are merged into the variables (Camunda keeps no result without a result variable)",
        )
    return None


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
                        f"The flow from '{el.get('sourceRef')}' to '{el.get('targetRef')}' has no id; it is followed, "
                        "as in Camunda",
                    )
                )
            form_key = el.get(f"{{{CAMUNDA_NS}}}formKey") or ""
            effect = _form_key_effect(form_key)
            if effect:
                notes.append(CompatibilityNote(owner_id, el.sourceline, file, "camunda:formKey", effect))
            default = _camunda_default_difference(el, qname.localname)
            if default:
                notes.append(CompatibilityNote(el.get("id", ""), el.sourceline, file, *default))
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
        elif (
            qname.namespace == CAMUNDA_NS
            and qname.localname == "connectorId"
            and (el.text or "").strip() == "http-connector"
        ):
            notes.append(
                CompatibilityNote(
                    owner_id,
                    el.sourceline,
                    file,
                    "http-connector",
                    "Calls pass the address guard: loopback, private, link-local and cloud-metadata addresses "
                    "are refused (an incident) unless BPM_SERVICE_ALLOWED_NETWORKS allows them; a redirect is "
                    "returned as the answer (statusCode 3xx), not followed as Camunda Connect follows it",
                )
            )
        elif (
            qname.namespace == CAMUNDA_NS
            and qname.localname == "property"
            and el.get("name") == "calendar"
            and owner is not None
            and owner.find(f"{{{BPMN_NS}}}timerEventDefinition") is not None
        ):
            notes.append(
                CompatibilityNote(
                    owner_id,
                    el.sourceline,
                    file,
                    "camunda:property calendar",
                    f"An extension of this engine: a duration timer comes due in the working time of the "
                    f"business calendar '{el.get('value') or ''}' (Camunda 7 ignores the property and counts "
                    "plain time); date and cycle timers are unaffected",
                )
            )
        elif qname.namespace == CAMUNDA_NS and qname.localname == "inputOutput":
            notes.append(
                CompatibilityNote(
                    owner_id,
                    el.sourceline,
                    file,
                    "camunda:inputOutput",
                    "Kept: input parameters are local to the activity, output parameters set what goes on (text with "
                    "${...}, camunda:list, camunda:map, or a camunda:script of one Python expression)",
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
