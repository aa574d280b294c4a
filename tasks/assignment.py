"""Read a task's assignment, dates, priority and instructions from its diagram metadata."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime

from django.utils import timezone

from bpm.durations import parse_duration
from processes.engine import expressions, scripting

logger = logging.getLogger(__name__)


@dataclass
class Assignment:
    assignee: str | None = None
    candidate_users: list[str] = field(default_factory=list)
    candidate_groups: list[str] = field(default_factory=list)
    due_at: datetime | None = None
    follow_up_at: datetime | None = None
    priority: int = 50
    instructions: str = ""
    problems: list[str] = field(default_factory=list)


def _evaluate(text: str | None, variables: dict, problems: list[str], what: str):
    try:
        return expressions.evaluate_attribute(text, variables, scripting.evaluate)
    except Exception as exc:  # an expression over variables that are missing or wrong
        problems.append(f"{what} '{text}' could not be evaluated: {exc}")
        return None


def _names(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (list, tuple, set)):
        return [str(v).strip() for v in value if str(v).strip()]
    return [part.strip() for part in str(value).split(",") if part.strip()]


def parse_when(value, now: datetime | None = None, working_time=None) -> datetime | None:
    """A due or follow-up date: a datetime, an ISO date/date-time, or an ISO duration from now
    (in the process's working time when it names a business calendar: P2D is two working days)."""
    now = now or timezone.now()
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if timezone.is_aware(value) else timezone.make_aware(value)
    if isinstance(value, date):
        return timezone.make_aware(datetime(value.year, value.month, value.day))
    text = str(value).strip()
    if text.startswith("P"):
        delta = parse_duration(text)
        if delta is None:
            return None
        return working_time.add(now, delta) if working_time is not None else now + delta
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed)


def resolve(element: dict, variables: dict, now: datetime | None = None, working_time=None) -> Assignment:
    """Evaluate a task element's Camunda/Spiff metadata against the instance's variables.

    Lanes give the candidate group when the diagram names no assignee and no candidates;
    problems (an expression over a missing variable) are reported, never fatal: the task
    then stays open to administrators and process owners.
    """
    camunda = element.get("camunda", {})
    spiff = element.get("spiff", {})
    result = Assignment()
    problems = result.problems
    assignee = _evaluate(camunda.get("assignee"), variables, problems, "assignee")
    result.assignee = str(assignee).strip() if assignee not in (None, "") else None
    result.candidate_users = _names(_evaluate(camunda.get("candidateUsers"), variables, problems, "candidateUsers"))
    result.candidate_groups = _names(_evaluate(camunda.get("candidateGroups"), variables, problems, "candidateGroups"))
    if not result.assignee and not result.candidate_users and not result.candidate_groups and element.get("lane"):
        result.candidate_groups = [element["lane"]]
    due, follow_up = (_evaluate(camunda.get(k), variables, problems, k) for k in ("dueDate", "followUpDate"))
    result.due_at = parse_when(due, now, working_time)
    result.follow_up_at = parse_when(follow_up, now, working_time)
    priority = _evaluate(camunda.get("priority"), variables, problems, "priority")
    try:
        result.priority = int(priority) if priority not in (None, "") else 50
    except (TypeError, ValueError):
        problems.append(f"priority '{priority}' is not a whole number")
    text = element.get("documentation") or spiff.get("instructionsForEndUser") or ""
    instructions = _evaluate(text, variables, problems, "instructions") if "${" in text else text
    result.instructions = str(instructions if instructions is not None else text)
    for problem in problems:
        logger.info("Task %s: %s", element.get("name") or "", problem)
    return result
