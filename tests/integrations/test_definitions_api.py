"""Definitions through the API: a zip of several files, the versions of a key, the drawn diagram."""

import io
import zipfile
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from tests.processes.factories import bpmn, chain, deploy_one

pytestmark = pytest.mark.django_db

DEMO = Path(__file__).resolve().parents[2] / "processes" / "demo"


@pytest.fixture
def api(admin_user):
    client = APIClient()
    client.force_authenticate(admin_user)
    return client


def zipped(**files: bytes) -> io.BytesIO:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    buffer.seek(0)
    buffer.name = "bundle.zip"
    return buffer


def test_a_zip_of_a_process_and_its_decision_table_deploys_both(api):
    bundle = zipped(
        **{
            "purchase/purchase_request.bpmn": (DEMO / "purchase_request.bpmn").read_bytes(),
            "purchase/approval_levels.dmn": (DEMO / "approval_levels.dmn").read_bytes(),
        }
    )
    response = api.post("/api/v1/definitions/", {"files": [bundle]}, format="multipart")
    assert response.status_code == 201, response.content
    assert [d["key"] for d in response.json()["created"]] == ["purchase_request"]
    assert response.json()["decisions_created"] == ["approval_levels v1"]


def test_a_zip_with_a_path_outside_the_archive_is_refused_with_the_file_named(api):
    bundle = zipped(**{"../evil.bpmn": b"<x/>"})
    response = api.post("/api/v1/definitions/", {"files": [bundle]}, format="multipart")
    assert response.status_code == 400
    assert "unsafe path '../evil.bpmn'" in response.json()["errors"]["files"][0]


def test_a_zip_with_other_files_is_refused(api):
    response = api.post("/api/v1/definitions/", {"files": [zipped(**{"notes.txt": b"hi"})]}, format="multipart")
    assert response.status_code == 400 and "not a .bpmn or .dmn file" in response.json()["detail"]


def test_the_versions_of_a_key_are_listed_newest_first(api):
    deploy_one(bpmn("twice", chain('<bpmn:userTask id="a"/>')))
    deploy_one(bpmn("twice", chain('<bpmn:userTask id="b"/>')))
    versions = api.get("/api/v1/definitions/keys/twice/versions/").json()["results"]
    assert [v["version"] for v in versions] == [2, 1]
    assert api.get("/api/v1/definitions/keys/unknown/versions/").status_code == 404


def test_the_diagram_is_drawn_as_svg_with_every_shape(api):
    bundle = zipped(
        **{
            "purchase_request.bpmn": (DEMO / "purchase_request.bpmn").read_bytes(),
            "approval_levels.dmn": (DEMO / "approval_levels.dmn").read_bytes(),
        }
    )
    definition = api.post("/api/v1/definitions/", {"files": [bundle]}, format="multipart").json()["created"][0]
    response = api.get(f"/api/v1/definitions/{definition['id']}/diagram/")
    assert response.status_code == 200 and response["Content-Type"] == "image/svg+xml"
    svg = response.content.decode()
    for element in ("request_received", "approve_purchase", "decision_gateway", "approved", "revise_request"):
        assert f'data-element-id="{element}"' in svg
    assert ">Approve<" in svg and ">purchase<" in svg  # the name, wrapped inside its box


def test_a_process_without_a_drawing_gets_a_422(api):
    definition = deploy_one(bpmn("undrawn", chain('<bpmn:userTask id="a"/>')))
    response = api.get(f"/api/v1/definitions/{definition.pk}/diagram/")
    assert response.status_code == 422 and response.json()["code"] == "diagram_missing"


def test_a_large_list_is_walked_with_a_cursor_without_a_total(api):
    definition = deploy_one(bpmn("many", chain('<bpmn:userTask id="a"/>')))
    from processes import services

    ids = [services.instance_start(definition=definition).pk for _ in range(5)]
    first = api.get("/api/v1/instances/", {"cursor": "", "page_size": 2}).json()
    assert "count" not in first and [i["id"] for i in first["results"]] == ids[::-1][:2]
    seen = [i["id"] for i in first["results"]]
    next_url = first["next"]
    while next_url:
        page = api.get(next_url).json()
        seen += [i["id"] for i in page["results"]]
        next_url = page["next"]
    assert seen == ids[::-1]
