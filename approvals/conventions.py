"""How a diagram marks a user task as an approval (camunda:properties; docs/APPROVALS.md)."""

from __future__ import annotations

from dataclasses import dataclass

from processes.elements import Element
from processes.engine.approval_rules import decision_variable

from .models import Outcome

OUTCOME_WORDS = {
    "approve": Outcome.APPROVED,
    "approved": Outcome.APPROVED,
    "reject": Outcome.REJECTED,
    "rejected": Outcome.REJECTED,
    "request_changes": Outcome.CHANGES_REQUESTED,
    "changes_requested": Outcome.CHANGES_REQUESTED,
}
DEFAULT_OUTCOMES = [Outcome.APPROVED, Outcome.REJECTED]
COMMENT_REQUIRED = {Outcome.REJECTED, Outcome.CHANGES_REQUESTED}


@dataclass(frozen=True)
class ApprovalConfig:
    element_id: str
    outcomes: tuple[str, ...]
    variable: str
    chain: str
    level_name: str


def _properties(element: dict) -> dict[str, str]:
    return Element("", element).properties


def approval_config(element_id: str, element: dict) -> ApprovalConfig | None:
    """The approval settings of a task element, or None when it is not an approval."""
    props = _properties(element)
    if str(props.get("approval", "")).lower() != "true":
        return None
    words = [w.strip().lower() for w in (props.get("approval.outcomes") or "").split(",") if w.strip()]
    outcomes = [OUTCOME_WORDS[w] for w in words if w in OUTCOME_WORDS] or DEFAULT_OUTCOMES
    return ApprovalConfig(
        element_id=element_id,
        outcomes=tuple(dict.fromkeys(outcomes)),
        variable=decision_variable(element_id, props),
        chain=props.get("approval.chain") or "default",
        level_name=props.get("approval.level") or element.get("name") or element_id,
    )
