#!/usr/bin/env python
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _demo_defaults() -> None:
    """Nothing configured (no SECRET_KEY, DATABASE_URL or .env): this is a clone running the
    demo, so commands use the demo's settings, as scripts/demo.sh does."""
    if "SECRET_KEY" in os.environ or "DATABASE_URL" in os.environ or (HERE / ".env").exists():
        return
    for line in (HERE / "scripts" / "demo.env").read_text().splitlines():
        name, _, value = line.partition("=")
        if name.strip() and not name.startswith("#"):
            os.environ.setdefault(name.strip(), value.strip())
    print("manage.py: nothing configured, using the demo's settings (scripts/demo.env, db.sqlite3)", file=sys.stderr)


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bpm.settings")
    _demo_defaults()
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
