"""The OpenAPI schema in docs/ is the one the code serves, and the API keeps to it under a
schema fuzzer (schemathesis): no server error, no response that breaks the schema."""

from pathlib import Path

import pytest
import schemathesis
from django.core.management import call_command
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml"


def test_the_checked_in_schema_matches_the_code(tmp_path):
    generated = tmp_path / "openapi.yaml"
    call_command("spectacular", "--file", str(generated))
    assert generated.read_text() == SCHEMA_FILE.read_text(), (
        "docs/openapi.yaml is stale: run `make schema` (manage.py spectacular --file docs/openapi.yaml)"
    )


schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())


@pytest.fixture
def fuzz_admin(db, settings):
    """An administrator; the WSGI handler is kept from closing the test's connection after
    each request (as Django's test client does), so every call runs in the test transaction."""
    from django.contrib.auth import get_user_model
    from django.core import signals
    from django.db import close_old_connections

    # Basic auth checks the password on every request: a fast hasher keeps the run short
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # a healthy system: health answers 503 only when a part is down (tested elsewhere)
    settings.CELERY_TASK_ALWAYS_EAGER = True
    from datetime import timedelta

    from django.utils import timezone

    from integrations.models import Heartbeat

    # ahead of time: it stays fresh for the whole run
    Heartbeat.objects.create(name="job-tick", seen_at=timezone.now() + timedelta(hours=1))
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield get_user_model().objects.create_superuser("fuzzer", "fuzzer@example.com", "pw-fuzzer")
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.mark.slow
@schema.parametrize()
@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_the_api_keeps_to_its_schema_under_fuzzing(case, fuzz_admin):
    import base64

    auth = base64.b64encode(b"fuzzer:pw-fuzzer").decode()
    case.call_and_validate(
        headers={"Authorization": f"Basic {auth}"}, checks=[not_a_server_error, response_schema_conformance]
    )
