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

REPO = Path(__file__).resolve().parents[2]
CORPUS = Path(os.environ.get("BPM_CONFORMANCE_DIR", REPO.parent / "shared" / "conformance"))
MAX_STEPS = 500


def _manifest() -> list[dict]:
    path = CORPUS / "expected.json"
    if not path.exists():
        return []
    return json.loads(path.read_text())["files"]


def _deploy_cases():
    return [pytest.param(entry, id=entry["file"]) for entry in _manifest()]


def _run_cases():
    return [
        pytest.param(entry, process, id=f"{entry['file']}::{process['process']}")
        for entry in _manifest()
        if entry["deploy"] == "ok"
        for process in entry.get("processes", [])
    ]


def _files(entry: dict) -> list[tuple[str, bytes]]:
    names = [entry["file"], *entry.get("with", [])]
    return [(Path(name).name, (CORPUS / name).read_bytes()) for name in names]


def test_conformance_corpus_is_present():
    assert _manifest(), f"No conformance manifest at {CORPUS}/expected.json (set BPM_CONFORMANCE_DIR)"


@pytest.mark.django_db
@pytest.mark.parametrize("entry", _deploy_cases())
def test_file_deploys_or_is_refused_as_the_manifest_says(entry):
    if entry["deploy"] == "ok":
        result = services.definition_deploy(files=_files(entry))
        assert result.created, "nothing was deployed"
    else:
        with pytest.raises(DefinitionInvalidError) as refused:
            services.definition_deploy(files=_files(entry))
        assert refused.value.details, "a refusal must say why"
        assert ProcessDefinition.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize(("entry", "expected"), _run_cases())
def test_process_runs_to_the_manifest_outcome(entry, expected):
    services.definition_deploy(files=_files(entry))
    definition = ProcessDefinition.objects.get(key=expected["process"], is_active=True)
    instance = services.instance_start(definition=definition, variables=expected.get("start_variables") or {})
    completions = expected.get("complete") or {}
    for _ in range(MAX_STEPS):
        instance.refresh_from_db()
        if instance.status != "running":
            break
        ready = instance.waiting_steps.filter(kind__in=["user", "manual"]).order_by("created_at", "id").first()
        if ready is None:
            break
        instance = services.instance_complete_step(
            instance_id=instance.pk,
            spiff_task_id=str(ready.spiff_task_id),
            data=completions.get(ready.element_id),
        )
    instance.refresh_from_db()
    assert instance.status != "error", instance.error_message
    if expected["outcome"] == "completed":
        assert instance.status == "completed", f"waiting at {services.waiting_element_ids(instance)}"
    else:
        assert instance.status == "running"
        assert sorted(services.waiting_element_ids(instance)) == sorted(expected["waiting_at"])
    for name, value in (expected.get("variables") or {}).items():
        assert instance.variables.get(name) == value, name
