"""The service tasks here call stand-ins for the outside world on 127.0.0.1, which the address
guard refuses unless an administrator allow-lists it: these tests do, as such a setting would."""

import pytest


@pytest.fixture(autouse=True)
def _loopback_services_allowed(settings, monkeypatch):
    settings.BPM = {**settings.BPM, "SERVICE_ALLOWED_NETWORKS": ["127.0.0.0/8"]}
    monkeypatch.setenv("BPM_SERVICE_ALLOWED_NETWORKS", "127.0.0.0/8")  # for the Celery workers these tests start
