"""Deploy and run real diagrams written by others, as their manifest (expected.json) says.

The corpus comes from BPM_CONFORMANCE_DIR (default: ../shared/conformance beside
the repository); one test case per file and process, named after them.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from processes import services
from processes.exceptions import DefinitionInvalidError
from processes.models import ProcessDefinition

from .scenario import Scenario

REPO = Path(__file__).resolve().parents[2]
CORPUS = Path(os.environ.get("BPM_CONFORMANCE_DIR", REPO.parent / "shared" / "conformance"))
# Entries of the conformance-next corpus the engine already passes join the gate (listed here).
NEXT = REPO.parent / "shared" / "conformance-next"
NEXT_PASSING = Path(__file__).with_name("next_passing.json")
# Our own scenarios, drawn from Camunda 7's engine tests (scenarios/SOURCES.md)
SCENARIOS = Path(__file__).with_name("scenarios")


def _manifest() -> list[dict]:
    path = CORPUS / "expected.json"
    if not path.exists():
        return []
    entries = [{**entry, "_base": str(CORPUS)} for entry in json.loads(path.read_text())["files"]]
    if "BPM_CONFORMANCE_DIR" not in os.environ and (NEXT / "expected.json").exists():
        passing = set(json.loads(NEXT_PASSING.read_text())["files"])
        entries += [
            {**entry, "_base": str(NEXT), "file": entry["file"]}
            for entry in json.loads((NEXT / "expected.json").read_text())["files"]
            if entry["file"] in passing
        ]
        entries += [
            {**entry, "_base": str(SCENARIOS)}
            for entry in json.loads((SCENARIOS / "expected.json").read_text())["files"]
        ]
    return _corrected(entries)


CORRECTIONS = Path(__file__).with_name("corrections.json")


def _corrected(entries: list[dict]) -> list[dict]:
    """Apply corrections.json: where the recorded expectation is not what Camunda 7 does."""
    fixes = {(c["file"], c["process"]): c["expect"] for c in json.loads(CORRECTIONS.read_text())["corrections"]}
    for entry in entries:
        for process in entry.get("processes", []):
            fix = fixes.get((entry["file"], process["process"]))
            if fix:
                process.update(fix)
    return entries


def _deploy_cases():
    return [pytest.param(entry, id=_case_id(entry)) for entry in _manifest()]


def _case_id(entry: dict) -> str:
    prefix = {str(NEXT): "next:", str(SCENARIOS): "scenario:"}.get(entry["_base"], "")
    return prefix + entry["file"]


def _run_cases():
    return [
        pytest.param(entry, process, id=f"{_case_id(entry)}::{process['process']}")
        for entry in _manifest()
        if entry["deploy"] == "ok"
        for process in entry.get("processes", [])
    ]


def _files(entry: dict) -> list[tuple[str, bytes]]:
    names = [entry["file"], *entry.get("with", [])]
    return [(Path(name).name, (Path(entry["_base"]) / name).read_bytes()) for name in names]


def test_conformance_corpus_is_present():
    assert _manifest(), f"No conformance manifest at {CORPUS}/expected.json (set BPM_CONFORMANCE_DIR)"


@pytest.mark.django_db
@pytest.mark.parametrize("entry", _deploy_cases())
def test_file_deploys_or_is_refused_as_the_manifest_says(entry):
    if entry["deploy"] == "ok":
        result = services.definition_deploy(files=_files(entry))
        assert result.created, "nothing was deployed"
        return
    with pytest.raises(DefinitionInvalidError) as refused:
        services.definition_deploy(files=_files(entry))
    assert refused.value.details, "a refusal must say why"
    assert ProcessDefinition.objects.count() == 0
    reasons = " ".join(str(problem.get("message", problem)) for problem in refused.value.details)
    if entry.get("reason"):
        assert entry["reason"].lower() in reasons.lower(), reasons
    elif _none_executable(entry):
        # the manifest's rule for such files: say how to mark a process executable
        assert "Executable" in reasons and 'isExecutable="true"' in reasons, reasons


def _none_executable(entry: dict) -> bool:
    from lxml import etree

    tree = etree.fromstring((Path(entry["_base"]) / entry["file"]).read_bytes())
    processes = tree.findall("{http://www.omg.org/spec/BPMN/20100524/MODEL}process")
    return bool(processes) and all(p.get("isExecutable", "true") == "false" for p in processes)


@pytest.mark.django_db
@pytest.mark.parametrize(("entry", "expected"), _run_cases())
def test_process_runs_to_the_manifest_outcome(entry, expected):
    services.definition_deploy(files=_files(entry))
    scenario = Scenario(expected)
    scenario.run()
    scenario.check_outcome()
