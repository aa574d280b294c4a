"""Hardening (issue 13.11): HTTPS settings secure by default with DEBUG off, /metrics guarded,
no access tokens in URLs, and revocation that holds in every server process."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client
from rest_framework.test import APIClient

from integrations import services
from tests.integrations.test_clients import token_for

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def real_settings(**env) -> dict:
    """bpm.settings as a production process reads them (not the test settings)."""
    code = (
        "import json, bpm.settings as s; print(json.dumps([s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE,"
        " s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS, s.SECURE_PROXY_SSL_HEADER]))"
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("BPM_", "DEBUG"))}
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={**clean, "SECRET_KEY": "x", **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_https_settings_are_secure_by_default_when_debug_is_off():
    redirect, session_secure, csrf_secure, hsts, proxy = real_settings(DEBUG="false")
    assert (redirect, session_secure, csrf_secure) == (True, True, True)
    assert hsts >= 31_536_000 and proxy is None


def test_https_settings_come_from_the_environment():
    redirect, session_secure, _, hsts, proxy = real_settings(
        DEBUG="false", BPM_SSL_REDIRECT="false", BPM_HSTS_SECONDS="60", BPM_PROXY_SSL_HEADER="X-Forwarded-Proto"
    )
    assert (redirect, session_secure, hsts) == (False, True, 60)
    assert proxy == ["HTTP_X_FORWARDED_PROTO", "https"]


def test_the_demo_with_debug_on_runs_over_plain_http():
    redirect, session_secure, *_ = real_settings(DEBUG="true")
    assert (redirect, session_secure) == (False, False)


def test_metrics_answer_a_local_scraper_and_refuse_others(settings):
    client = Client()
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.9").status_code == 401
    # through a proxy on this machine every caller looks local: not enough
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.9").status_code == 401


def test_metrics_answer_a_scraper_with_the_token(settings):
    settings.BPM = {**settings.BPM, "METRICS_TOKEN": "scrape-me"}
    client = Client()
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.9", HTTP_AUTHORIZATION="Bearer scrape-me").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.9", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 401  # a set token is always needed


@pytest.fixture
def erp():
    return services.client_create(name="erp", service_username="svc-erp", scopes=["read"])


def test_an_access_token_in_the_query_string_is_refused(erp):
    token = token_for("erp", erp)
    response = APIClient().get(f"/api/v1/definitions/?access_token={token}")
    assert response.status_code == 401
    assert "Authorization header" in response.json()["detail"]


def test_a_token_deleted_by_another_server_process_is_refused_at_once(erp):
    """With the default per-process cache, no token is cached: a revocation made in another
    process (which drops only its own cache entries) holds here at the next request."""
    token = token_for("erp", erp)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert client.get("/api/v1/definitions/").status_code == 200
    with connection.cursor() as cursor:  # another process's revocation: no signal reaches this one
        cursor.execute("DELETE FROM oauth2_provider_accesstoken WHERE token_checksum IS NOT NULL OR token IS NOT NULL")
    assert client.get("/api/v1/definitions/").status_code == 401
