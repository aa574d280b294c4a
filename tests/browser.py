"""Shared helpers for the browser tests (Chromium through Playwright)."""

import os
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("BPM_CHROMIUM", "/usr/bin/chromium")
REPO = Path(__file__).resolve().parents[1]
SCREENSHOTS = REPO / "docs" / "screenshots"

BROWSER_MARKS = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(), reason=f"Chromium not installed at {CHROMIUM} (apt-get install chromium)"
    ),
]


def login(page, live_server, username: str, password: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")


def demo_login(page, live_server, username: str) -> None:
    """The demo's users, processes and requests loaded, then logged in as one of them."""
    import os

    from django.core.management import call_command

    call_command("load_demo", stdout=open(os.devnull, "w"))
    login(page, live_server, username, username)
