"""Expressions and scripts compile in the restricted environment, checked at deploy."""

from __future__ import annotations

from lxml import etree

from bpm.cron import Cron, CronError, looks_like_cron

from .. import expressions, scripting
from .constants import CAMUNDA_NS
from .preprocess import _q
from .results import Problem


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
        if looks_like_cron(timer.text or ""):
            try:
                Cron(timer.text.strip())
            except CronError as exc:
                owner = timer
                while owner is not None and not owner.get("id"):
                    owner = owner.getparent()
                problems.append(
                    Problem(
                        f"Cron expression '{timer.text.strip()}' is not allowed: {exc}",
                        name,
                        owner.get("id", "") if owner is not None else "",
                        timer.sourceline,
                    )
                )
    for cond in root.iter(_q("condition")):
        _compile_check(problems, cond.text, cond, name, "Condition")
    _check_attribute_expressions(root, name, problems)
    _check_parameter_scripts(root, name, problems)
    _check_history_ttl(root, name, problems)
    return problems


# Camunda attributes whose ${...} parts run when the element is reached: checked here, so a
# mistake is a deploy problem naming the element, not a failing command later.
_EXPRESSION_ATTRIBUTES = (
    "assignee",
    "candidateUsers",
    "candidateGroups",
    "dueDate",
    "followUpDate",
    "priority",
    "taskPriority",
    "sourceExpression",
)


def _check_attribute_expressions(root: etree._Element, name: str, problems: list[Problem]) -> None:
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        for attribute in _EXPRESSION_ATTRIBUTES:
            text = el.get(f"{{{CAMUNDA_NS}}}{attribute}") or (
                el.get(attribute) if attribute == "sourceExpression" else None
            )
            if not text or ("${" not in text and "#{" not in text):
                continue
            for body in expressions._EMBEDDED.findall(text):
                _compile_check(problems, "${" + body + "}", el, name, f"Expression in {attribute}")


def _check_parameter_scripts(root: etree._Element, name: str, problems: list[Problem]) -> None:
    """A camunda:script giving an input/output parameter's value runs as one Python expression;
    another language, an external resource or statements are refused here."""
    ns = f"{{{CAMUNDA_NS}}}"
    for kind in ("inputParameter", "outputParameter"):
        for param in root.iter(f"{ns}{kind}"):
            script = param.find(f"{ns}script")
            if script is None:
                continue
            owner = param
            while owner is not None and not owner.get("id"):
                owner = owner.getparent()
            element_id = owner.get("id", "") if owner is not None else ""
            fmt = (script.get("scriptFormat") or "python").lower()
            reason = ""
            if fmt not in ("python", "py", "text/x-python"):
                reason = f"script format '{fmt}' is not supported; write it as one Python expression"
            elif script.get("resource"):
                reason = "a script from a resource is not supported; write it inline as one Python expression"
            else:
                try:
                    scripting.compile_expression((script.text or "").strip())
                except SyntaxError as exc:
                    reason = (
                        f"it must be one Python expression, whose value the parameter takes ({_syntax_reason(exc)})"
                    )
            if reason:
                problems.append(
                    Problem(
                        f"The script of {kind} '{param.get('name')}': {reason}", name, element_id, script.sourceline
                    )
                )


_NOT_RUN = {
    "complexGateway": "Complex gateways are not run (Camunda 7 ignores them too, so flows through it lead nowhere): "
    "model the join with a parallel or an inclusive gateway",
    "adHocSubProcess": "Ad-hoc subprocesses are not run (Camunda 7 ignores them too): model the activities in an "
    "embedded subprocess, or as separate tasks",
}


def _check_unsupported_elements(tree: etree._ElementTree, name: str, camunda: bool) -> list[Problem]:
    """Elements nothing here runs as drawn: refused with the element, rather than run differently.
    A standard loop is refused in Camunda diagrams (Camunda 7 ignores it and runs the activity
    once); SpiffWorkflow diagrams keep SpiffWorkflow's loop."""
    problems = []
    for el in tree.getroot().iter(*(_q(tag) for tag in _NOT_RUN)):
        problems.append(Problem(_NOT_RUN[etree.QName(el).localname], name, el.get("id", ""), el.sourceline))
    if camunda:
        for loop in tree.getroot().iter(_q("standardLoopCharacteristics")):
            owner = loop.getparent()
            problems.append(
                Problem(
                    "Standard loops are not run in Camunda diagrams (Camunda 7 ignores them and runs the activity once): "
                    "use a multi-instance marker, or a loop back through a gateway",
                    name,
                    owner.get("id", "") if owner is not None else "",
                    loop.sourceline,
                )
            )
    return problems


def _check_history_ttl(root: etree._Element, name: str, problems: list[Problem]) -> None:
    """camunda:historyTimeToLive is a number of days, ``30`` or ``P30D``, as Camunda reads it."""
    from .metadata import MAX_TTL_DAYS, history_ttl_days

    for process in root.iter(_q("process")):
        text = process.get(f"{{{CAMUNDA_NS}}}historyTimeToLive")
        if text is not None and text.strip() and history_ttl_days(text) is None:
            problems.append(
                Problem(
                    f"camunda:historyTimeToLive '{text}' is not a number of days (30 or P30D, at most {MAX_TTL_DAYS})",
                    name,
                    process.get("id", ""),
                    process.sourceline,
                )
            )
