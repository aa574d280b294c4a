"""One typed reader for what a deployed definition records per element (``ProcessDefinition.elements``:
Camunda/Spiff extension values read at deploy, see engine/parser.py). Everyone reads through it,
so the stored shape is known in one place."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Element:
    element_id: str
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.raw.get("name") or ""

    @property
    def camunda(self) -> dict[str, Any]:
        return self.raw.get("camunda") or {}

    @property
    def spiff(self) -> dict[str, Any]:
        return self.raw.get("spiff") or {}

    @property
    def connector(self) -> dict[str, Any]:
        """The service task's connector (id, inputs, outputs, retries, error mapping); {} for none."""
        return self.raw.get("connector") or {}

    @property
    def timer(self) -> dict[str, Any]:
        return self.raw.get("timer") or {}

    @property
    def form_fields(self) -> list[dict[str, Any]]:
        """The task's form fields: camunda:formData, or a Camunda Form or JSON-schema form deployed with it."""
        return self.camunda.get("formFields") or []

    @property
    def properties(self) -> dict[str, str]:
        """camunda:properties over spiffworkflow:properties (Camunda's win when both are set)."""
        merged = dict(self.spiff.get("properties") or {})
        merged.update(self.camunda.get("properties") or {})
        return merged


def element_of(elements: dict | None, element_id: str) -> Element:
    """The element ``element_id`` of a definition's ``elements`` (an empty one when unknown)."""
    return Element(element_id, (elements or {}).get(element_id) or {})
