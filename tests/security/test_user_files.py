"""Stored XSS (issue 13.2): uploaded BPMN/DMN is served as a download that a browser never
runs or sniffs, under a policy without scripts; the drawn SVG carries the same policy."""

from pathlib import Path

import pytest
from django.test import Client
from rest_framework.test import APIClient

from tests.processes.factories import bpmn, chain, deploy_one

pytestmark = pytest.mark.django_db

DEMO = Path(__file__).resolve().parents[2] / "processes" / "demo"

EVIL = bpmn(
    "evil",
    chain('<bpmn:userTask id="t"/>').replace(
        '<bpmn:startEvent id="start"/>',
        '<bpmn:startEvent id="start"><bpmn:documentation>'
        '<html:script xmlns:html="http://www.w3.org/1999/xhtml">fetch("/admin/")</html:script>'
        "</bpmn:documentation></bpmn:startEvent>",
    ),
)


def assert_inert_download(response, filename):
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="{filename}"'
    assert response["X-Content-Type-Options"] == "nosniff"
    csp = response["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp and "sandbox" in csp
    assert b"<html:script" in response.content  # exactly as uploaded, just never run


def test_the_definition_xml_page_is_an_inert_download(admin_user):
    definition = deploy_one(EVIL)
    client = Client()
    client.force_login(admin_user)
    assert_inert_download(client.get(f"/processes/definitions/{definition.pk}/xml/"), "evil-v1.bpmn")


def test_the_definition_xml_api_is_an_inert_download(admin_user):
    definition = deploy_one(EVIL)
    api = APIClient()
    api.force_authenticate(admin_user)
    assert_inert_download(api.get(f"/api/v1/definitions/{definition.pk}/xml/"), "evil-v1.bpmn")


def test_the_drawn_svg_may_not_run_scripts(admin_user):
    xml = (
        (DEMO / "leave_request.bpmn")
        .read_bytes()
        .replace(b'name="Approve leave"', b'name="&lt;script&gt;alert(1)&lt;/script&gt;"')
    )
    definition = deploy_one(xml)
    api = APIClient()
    api.force_authenticate(admin_user)
    response = api.get(f"/api/v1/definitions/{definition.pk}/diagram/")
    assert response.status_code == 200
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'none'" in response["Content-Security-Policy"]
    assert b"&lt;script&gt;" in response.content and b"<script>" not in response.content
