"""The API guide's client registration, run as written: register, grant, get a token, start."""

import re

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from integrations import services
from tests.integrations.test_clients import api
from tests.processes.factories import bpmn, chain, deploy_one

pytestmark = pytest.mark.django_db

PURCHASE = bpmn("purchase_request", chain('<bpmn:userTask id="review"/>'))


def _registered(capsys) -> str:
    call_command(
        "api_client", "create", "erp", "--user", "svc-erp", "--groups", "Process Owner",
        "--scopes", "read instances:start messages:correlate",
    )  # fmt: skip
    out = capsys.readouterr().out
    client_id = re.search(r"client_id=(\S+)", out).group(1)
    secret = re.search(r"client_secret=(\S+)", out).group(1)
    from rest_framework.test import APIClient

    response = APIClient().post(
        "/oauth/token/", {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    )
    return response.json()["access_token"]


def test_a_client_without_the_start_right_is_told_which_grant_it_needs(capsys):
    deploy_one(PURCHASE)
    token = _registered(capsys)
    response = api(token).post("/api/v1/instances/", {"definition_key": "purchase_request"}, format="json")
    assert response.status_code == 403
    assert "process_access grant purchase_request start" in response.json()["detail"]


def test_the_guides_client_starts_an_instance_once_granted_the_start_right(capsys):
    deploy_one(PURCHASE)
    token = _registered(capsys)
    call_command("process_access", "grant", "purchase_request", "start", "--user", "svc-erp")
    response = api(token).post("/api/v1/instances/", {"definition_key": "purchase_request"}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["started_by"] == "svc-erp"


def test_granting_on_a_process_that_is_not_deployed_is_refused():
    services.client_create(name="x", service_username="svc-x", scopes=["read"])
    with pytest.raises(CommandError, match="No process with key 'nope'"):
        call_command("process_access", "grant", "nope", "start", "--user", "svc-x")
