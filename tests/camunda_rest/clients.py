"""Third-party Camunda clients for the /engine-rest tests: Node packages come from
tests/clients (installed by scripts/setup.sh --dev into its ignored node_modules)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

CLIENTS = Path(__file__).resolve().parents[1] / "clients"
NODE = shutil.which("node")

needs_node_client = pytest.mark.skipif(
    NODE is None or not (CLIENTS / "node_modules" / "camunda-external-task-client-js").exists(),
    reason="Node.js or the Camunda Node client is missing (run scripts/setup.sh --dev)",
)
