"""The page for teams moving from Camunda 7: the endpoint to give Camunda Modeler and workers,
and a check of their diagrams that deploys nothing."""

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile

from processes.models import DecisionDefinition, Deployment, ProcessDefinition

from ..camunda_models.test_dmn import INVOICE
from ..processes.factories import bpmn, chain

PAGE = "/camunda/"


def _invoice_files() -> list[SimpleUploadedFile]:
    return [SimpleUploadedFile(p.name, p.read_bytes()) for p in sorted(INVOICE.iterdir())]


@pytest.mark.django_db
def test_the_page_gives_the_engine_rest_endpoint_for_camunda_modeler(client, designer):
    client.force_login(designer)
    response = client.get(PAGE)
    assert response.status_code == 200
    assert b'<code id="engine-rest-endpoint">http://testserver/engine-rest</code>' in response.content


@pytest.mark.django_db
def test_checking_camundas_invoice_example_lists_what_it_holds_and_deploys_nothing(client, designer):
    client.force_login(designer)
    response = client.post(PAGE, {"files": _invoice_files()})
    assert response.status_code == 200
    checked = response.context["checked"]
    assert sorted(checked.processes) == ["ReviewInvoice", "invoice"]
    assert checked.decisions == ["invoice-assign-approver", "invoiceClassification"]
    assert b'id="check-notes"' in response.content  # what runs differently is listed
    assert not Deployment.objects.exists() and not ProcessDefinition.objects.exists()
    assert not DecisionDefinition.objects.exists()


@pytest.mark.django_db
def test_a_diagram_that_cannot_run_is_listed_with_file_line_and_element(client, designer):
    client.force_login(designer)
    groovy = bpmn(
        "calc", chain('<bpmn:scriptTask id="sum" scriptFormat="groovy"><bpmn:script>1</bpmn:script></bpmn:scriptTask>')
    )
    response = client.post(PAGE, {"files": [SimpleUploadedFile("calc.bpmn", groovy)]})
    assert response.status_code == 422
    [problem] = response.context["problems"]
    assert (problem["file"], problem["element_id"]) == ("calc.bpmn", "sum") and problem["line"]
    assert "groovy" in problem["message"]


@pytest.mark.django_db
def test_a_person_without_the_designer_role_is_told_how_to_get_it_and_cannot_check(client):
    client.force_login(get_user_model().objects.create_user("clerk", password="pw"))
    response = client.get(PAGE)
    assert b'id="cannot-deploy"' in response.content and b"Process Designer" in response.content
    response = client.post(PAGE, {"files": _invoice_files()})
    assert response.context["checked"] is None
