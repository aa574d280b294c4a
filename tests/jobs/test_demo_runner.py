"""The demo's in-process job runner (manage.py run_jobs --loop) survives a failed round."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import OperationalError

from processes.management.commands import run_jobs

REPO = Path(__file__).resolve().parents[2]


class _Stop(BaseException):
    pass


@pytest.mark.django_db(transaction=True)
def test_a_locked_database_is_logged_and_the_runner_goes_on(monkeypatch, caplog):
    rounds, pauses = [], []

    def due_jobs():
        rounds.append(1)
        if len(rounds) == 1:
            raise OperationalError("database is locked")
        return 0

    def pause(_seconds):
        pauses.append(1)
        if len(pauses) == 2:
            raise _Stop

    monkeypatch.setattr(run_jobs, "run_due_jobs", due_jobs)
    monkeypatch.setattr(run_jobs.time, "sleep", pause)
    with pytest.raises(_Stop):
        call_command("run_jobs", "--loop")
    assert len(rounds) == 2  # the round after the failure ran
    assert "database is locked" in caplog.text


def test_the_demo_database_takes_its_write_lock_when_a_transaction_begins(tmp_path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}", "SECRET_KEY": "x"}
    probe = "import django; django.setup(); from django.conf import settings; print(settings.DATABASES['default']['OPTIONS'])"
    out = subprocess.run(
        [sys.executable, "-c", probe], env={**env, "DJANGO_SETTINGS_MODULE": "bpm.settings"}, cwd=REPO,
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert "'transaction_mode': 'IMMEDIATE'" in out
