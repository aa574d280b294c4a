"""Shared fixtures: the suite runs on PostgreSQL, with outside network blocked."""

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
