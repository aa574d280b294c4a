"""What validation returns and raises: problems with file, line and element id; the bundle report."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field


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
    form_files: set[str] = field(default_factory=set)  # Camunda Forms of the upload it uses (deploy fills it)
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
