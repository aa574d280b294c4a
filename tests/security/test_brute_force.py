"""Password guessing (issue 13.10): the login form and HTTP Basic lock a username out from an
address after BPM_LOGIN_FAILURE_LIMIT failures, with a 429 that says when to come back."""

import base64

import pytest
from django.test import Client
from rest_framework.test import APIClient

from tests.tasks.factories import user

pytestmark = pytest.mark.django_db


def basic(username: str, password: str) -> dict:
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()}


def test_the_login_form_locks_out_after_the_failure_limit_even_for_the_right_password(settings):
    user("ann")
    client = Client()
    for attempt in range(settings.AXES_FAILURE_LIMIT - 1):
        response = client.post("/accounts/login/", {"username": "ann", "password": f"guess-{attempt}"})
        assert response.status_code == 200  # the form again, with its error
    assert client.post("/accounts/login/", {"username": "ann", "password": "last-guess"}).status_code == 429
    locked = client.post("/accounts/login/", {"username": "ann", "password": "pw-ann"})
    assert locked.status_code == 429
    assert b"Too many failed logins" in locked.content and locked["Retry-After"] == "900"
    assert "_auth_user_id" not in client.session


def test_a_good_login_before_the_limit_resets_the_count(settings):
    user("ann")
    client = Client()
    for attempt in range(settings.AXES_FAILURE_LIMIT - 1):
        client.post("/accounts/login/", {"username": "ann", "password": f"guess-{attempt}"})
    assert client.post("/accounts/login/", {"username": "ann", "password": "pw-ann"}).status_code == 302
    client.post("/accounts/logout/")
    assert client.post("/accounts/login/", {"username": "ann", "password": "wrong"}).status_code == 200


def test_http_basic_on_the_api_locks_out_after_the_failure_limit(settings):
    user("ann")
    api = APIClient()
    for attempt in range(settings.AXES_FAILURE_LIMIT - 1):
        assert api.get("/api/v1/definitions/", **basic("ann", f"guess-{attempt}")).status_code == 401
    assert api.get("/api/v1/definitions/", **basic("ann", "last-guess")).status_code == 429
    locked = api.get("/api/v1/definitions/", **basic("ann", "pw-ann"))
    assert locked.status_code == 429
    assert locked["Content-Type"] == "application/problem+json" and locked["Retry-After"] == "900"


def test_another_username_from_the_same_address_is_not_locked_out(settings):
    user("ann")
    user("bob")
    api = APIClient()
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        api.get("/api/v1/definitions/", **basic("ann", f"guess-{attempt}"))
    assert api.get("/api/v1/definitions/", **basic("bob", "pw-bob")).status_code == 200
