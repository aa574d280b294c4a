"""Shared fixtures: the suite runs on PostgreSQL, with outside network blocked."""

import os
import socket

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model


def pytest_configure(config):
    engine = settings.DATABASES["default"]["ENGINE"]
    if "postgresql" not in engine:
        raise pytest.UsageError(
            "The tests run on PostgreSQL: set DATABASE_URL=postgres://... or use scripts/test.sh, "
            "which finds or starts one."
        )


_real_connect = socket.socket.connect


def _local_only_connect(sock, address):
    host = address[0] if isinstance(address, tuple) else address
    if isinstance(host, str) and host not in ("127.0.0.1", "localhost", "::1") and not host.startswith("/"):
        raise OSError(f"Tests may not reach the outside network ({host})")
    return _real_connect(sock, address)


@pytest.fixture(autouse=True)
def _block_outside_network(monkeypatch):
    monkeypatch.setattr(socket.socket, "connect", _local_only_connect)


@pytest.fixture
def designer(db):
    from django.contrib.auth.models import Group

    user = get_user_model().objects.create_user("designer", password="pw-designer")
    user.groups.add(Group.objects.get(name="Process Designer"))
    return user


@pytest.fixture
def admin_user(db):
    return get_user_model().objects.create_superuser("admin", "admin@example.com", "pw-admin")


@pytest.fixture
def page():
    """A headless Chromium page (Debian's chromium; Playwright's own download is not used)."""
    from playwright.sync_api import sync_playwright

    from tests.browser import CHROMIUM

    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-background-networking", "--disable-gpu"],
        )
        context = browser.new_context(viewport={"width": 1280, "height": 1000})
        yield context.new_page()
        browser.close()


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Throttle counts live in the cache: each test starts with none."""
    from django.core.cache import cache

    cache.clear()
    yield
