"""The approval convention's one naming rule, for the engine and the approvals app alike."""


def decision_variable(element_id: str, properties: dict) -> str:
    """Where an approval task's decision is written: ``approval.variable``, else ``<id>_decision``
    (docs/APPROVALS.md)."""
    return properties.get("approval.variable") or f"{element_id}_decision"
