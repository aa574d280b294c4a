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
def fuzz_admin(django_db_setup, django_db_blocker):
    from django.contrib.auth import get_user_model

    with django_db_blocker.unblock():
        get_user_model().objects.filter(username="fuzzer").delete()
        get_user_model().objects.create_superuser("fuzzer", "fuzzer@example.com", "pw-fuzzer")
    yield
    with django_db_blocker.unblock():
        get_user_model().objects.filter(username="fuzzer").delete()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@schema.parametrize()
@settings(max_examples=3, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_the_api_keeps_to_its_schema_under_fuzzing(case, fuzz_admin):
    import base64

    auth = base64.b64encode(b"fuzzer:pw-fuzzer").decode()
    case.call_and_validate(
        headers={"Authorization": f"Basic {auth}"}, checks=[not_a_server_error, response_schema_conformance]
    )
