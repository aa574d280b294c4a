"""Systems authenticate with OAuth2 client credentials, act as a service user, and are held
to their scopes, their rights and their rate."""

import base64

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from guardian.shortcuts import assign_perm
from rest_framework.test import APIClient

from integrations import services
from tests.processes.factories import bpmn, chain, deploy_one

pytestmark = pytest.mark.django_db


def token_for(client_name: str, new, scope: str = "") -> str:
    basic = base64.b64encode(f"{new.client_id}:{new.client_secret}".encode()).decode()
    data = {"grant_type": "client_credentials"}
    if scope:
        data["scope"] = scope
    response = APIClient().post("/oauth/token/", data, HTTP_AUTHORIZATION=f"Basic {basic}")
    assert response.status_code == 200, response.content
    return response.json()["access_token"]


def api(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


@pytest.fixture
def shared_cache(settings):
    """A cache every server process shares (as CACHE_URL gives in production): tokens are cached."""
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:6379/13"}
    }
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def erp():
    return services.client_create(name="erp", service_username="svc-erp", scopes=["read", "instances:start"])


@pytest.fixture
def two_processes():
    seen = deploy_one(bpmn("purchase", chain('<bpmn:userTask id="t" name="Check"/>')))
    hidden = deploy_one(bpmn("payroll", chain('<bpmn:userTask id="t" name="Pay"/>')), name="payroll.bpmn")
    return seen, hidden


def test_a_client_gets_a_token_with_its_scopes_and_sees_only_what_its_service_user_may(erp, two_processes):
    seen, hidden = two_processes
    assign_perm("processes.view_processdefinition", erp.client.application.user, seen)
    token = token_for("erp", erp)
    listed = api(token).get("/api/v1/definitions/")
    assert [d["key"] for d in listed.json()["results"]] == ["purchase"]
    assert api(token).get(f"/api/v1/definitions/{hidden.pk}/").status_code == 404


def test_a_client_may_not_ask_for_a_scope_it_was_not_granted(erp):
    basic = base64.b64encode(f"{erp.client_id}:{erp.client_secret}".encode()).decode()
    response = APIClient().post(
        "/oauth/token/",
        {"grant_type": "client_credentials", "scope": "definitions:deploy"},
        HTTP_AUTHORIZATION=f"Basic {basic}",
    )
    assert response.status_code == 400 and response.json()["error"] == "invalid_scope"


def test_a_token_without_the_action_scope_is_refused_with_the_scope_named(erp, two_processes):
    seen, _ = two_processes
    token = token_for("erp", erp, scope="read")
    response = api(token).post("/api/v1/instances/", {"definition_key": "purchase"}, format="json")
    assert response.status_code == 403
    assert "instances:start" in response.json()["detail"]


def test_a_token_with_the_scope_starts_an_instance_as_the_service_user(erp, two_processes):
    seen, _ = two_processes
    user = erp.client.application.user
    assign_perm("processes.view_processdefinition", user, seen)
    assign_perm("processes.start_instance", user, seen)
    response = api(token_for("erp", erp)).post("/api/v1/instances/", {"definition_key": "purchase"}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["started_by"] == "svc-erp"


def test_a_revoked_client_is_refused_at_once(erp):
    token = token_for("erp", erp)
    assert api(token).get("/api/v1/definitions/").status_code == 200
    services.client_revoke(name="erp")
    assert api(token).get("/api/v1/definitions/").status_code == 401


def test_a_client_over_its_rate_gets_429_with_retry_after(erp, monkeypatch):
    from integrations.auth import ClientRateThrottle

    monkeypatch.setattr(ClientRateThrottle, "THROTTLE_RATES", {"client": "3/min"})
    client = api(token_for("erp", erp))
    codes = [client.get("/api/v1/definitions/").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    last = client.get("/api/v1/definitions/")
    assert int(last["Retry-After"]) > 0 and last["Content-Type"] == "application/problem+json"


def test_unknown_scopes_are_refused_when_registering_a_client():
    with pytest.raises(CommandError, match="Unknown scopes: everything"):
        call_command("api_client", "create", "x", "--user", "svc-x", "--scopes", "read everything")


def test_the_command_prints_the_secret_once_and_lists_the_client(capsys):
    call_command("api_client", "create", "hr", "--user", "svc-hr", "--scopes", "read messages:correlate")
    out = capsys.readouterr().out
    assert "client_secret=" in out
    secret = out.split("client_secret=", 1)[1].split()[0]
    call_command("api_client", "list")
    listing = capsys.readouterr().out
    assert "hr" in listing and "messages:correlate" in listing and secret not in listing


@pytest.mark.usefixtures("shared_cache")
def test_a_verified_token_is_not_verified_again_on_the_next_request(erp):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    assert api(token_for("erp", erp)).get("/api/v1/definitions/").status_code == 200  # warms the rest
    client = api(token_for("erp", erp))
    with CaptureQueriesContext(connection) as first:
        assert client.get("/api/v1/definitions/").status_code == 200
    with CaptureQueriesContext(connection) as second:
        assert client.get("/api/v1/definitions/").status_code == 200
    # the token, the client with its service user, the user's and groups' permissions, its group ids
    assert len(first) - len(second) == 5


@pytest.mark.usefixtures("shared_cache")
def test_a_token_revoked_through_the_revocation_endpoint_stops_working_at_once(erp):
    token = token_for("erp", erp)
    assert api(token).get("/api/v1/definitions/").status_code == 200
    basic = base64.b64encode(f"{erp.client_id}:{erp.client_secret}".encode()).decode()
    revoked = APIClient().post("/oauth/revoke/", {"token": token}, HTTP_AUTHORIZATION=f"Basic {basic}")
    assert revoked.status_code == 200
    assert api(token).get("/api/v1/definitions/").status_code == 401


@pytest.mark.usefixtures("shared_cache")
def test_a_client_deactivated_in_the_admin_is_refused_at_once(erp):
    token = token_for("erp", erp)
    assert api(token).get("/api/v1/definitions/").status_code == 200
    erp.client.active = False
    erp.client.save()
    assert api(token).get("/api/v1/definitions/").status_code == 401


@pytest.mark.usefixtures("shared_cache")
def test_a_client_whose_service_user_is_deactivated_is_refused_at_once(erp):
    token = token_for("erp", erp)
    assert api(token).get("/api/v1/definitions/").status_code == 200
    user = erp.client.application.user
    user.is_active = False
    user.save()
    assert api(token).get("/api/v1/definitions/").status_code == 401


@pytest.mark.usefixtures("shared_cache")
def test_a_cached_token_is_refused_once_it_expires(erp, monkeypatch):
    from datetime import timedelta

    from django.utils import timezone

    token = token_for("erp", erp)
    assert api(token).get("/api/v1/definitions/").status_code == 200
    later = timezone.now() + timedelta(hours=2)  # past the token's lifetime (1 hour)
    monkeypatch.setattr(timezone, "now", lambda: later)
    assert api(token).get("/api/v1/definitions/").status_code == 401


def test_object_rights_granted_after_a_first_request_apply_to_the_next(erp, two_processes):
    seen, _ = two_processes
    client = api(token_for("erp", erp))
    assert client.get(f"/api/v1/definitions/{seen.pk}/").status_code == 404
    assign_perm("processes.view_processdefinition", erp.client.application.user, seen)
    assert client.get(f"/api/v1/definitions/{seen.pk}/").status_code == 200
