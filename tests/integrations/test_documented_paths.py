"""Every API path docs/API.md names exists in the published schema (docs/openapi.yaml)."""

import re
from pathlib import Path

import yaml

DOCS = Path(__file__).resolve().parents[2] / "docs"
OUTSIDE_THE_SCHEMA = ("/metrics", "/oauth/", "/engine-rest/")  # served, but not by the /api/ schema


def _schema_patterns() -> list[re.Pattern]:
    paths = yaml.safe_load((DOCS / "openapi.yaml").read_text())["paths"]
    return [re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", p) + "$") for p in paths]


def _documented() -> set[str]:
    text = (DOCS / "API.md").read_text()
    found = {m.group(1) for m in re.finditer(r"http://localhost:8000(/api/[^\s'\"?`)]*)", text)}
    for m in re.finditer(r"`(?:GET|POST|PUT|PATCH|DELETE) (/[^`\s]*)`", text):
        path = m.group(1).split("?")[0]
        found.add(path if path.startswith(("/api/", *OUTSIDE_THE_SCHEMA)) else "/api/v1" + path)
    return {p for p in found if not p.startswith(OUTSIDE_THE_SCHEMA)}


def test_every_path_in_the_api_guide_is_in_the_schema():
    patterns = _schema_patterns()
    missing = sorted(p for p in _documented() if not any(rx.match(p) for rx in patterns))
    assert missing == []
