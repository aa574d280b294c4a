"""Camunda Forms (form-js .form files deployed with the diagram): the task gets the form's
fields, and the page and the API validate what the form asks for."""

import json

import pytest
from rest_framework.test import APIClient

from processes import services
from processes.exceptions import DefinitionInvalidError
from tasks.models import HumanTask

from ..processes.factories import bpmn, chain

pytestmark = pytest.mark.django_db

FORM = {
    "id": "approve-form",
    "type": "default",
    "components": [
        {"type": "text", "text": "# Approve the invoice"},
        {"type": "textfield", "key": "creditor", "label": "Creditor", "validate": {"required": True, "maxLength": 40}},
        {"type": "number", "key": "amount", "label": "Amount", "validate": {"min": 1, "max": 1000}},
        {"type": "textfield", "key": "iban", "label": "IBAN", "validate": {"pattern": "[A-Z]{2}[0-9]{2}[A-Z0-9]+"}},
        {
            "type": "select",
            "key": "category",
            "label": "Category",
            "values": [{"label": "Travel", "value": "travel"}, {"label": "Misc", "value": "misc"}],
        },
        {"type": "checkbox", "key": "approved", "label": "Approved"},
    ],
}


def _deploy(task_attributes: str, form_name: str = "approve.form"):
    content = bpmn("with_form", chain(f'<bpmn:userTask id="approve" {task_attributes}/>'))
    files = [("p.bpmn", content), (form_name, json.dumps(FORM).encode())]
    return services.definition_deploy(files=files).created[0]


@pytest.mark.parametrize(
    "attributes", ['camunda:formRef="approve-form"', 'camunda:formKey="camunda-forms:deployment:approve.form"']
)
def test_a_task_naming_a_camunda_form_gets_its_fields(attributes):
    instance = services.instance_start(definition=_deploy(attributes))
    task = HumanTask.objects.get(instance=instance)
    assert [f["id"] for f in task.form] == ["creditor", "amount", "iban", "category", "approved"]


def test_the_api_validates_a_camunda_form_field_by_field(admin_user):
    instance = services.instance_start(definition=_deploy('camunda:formRef="approve-form"'))
    task = HumanTask.objects.get(instance=instance)
    client = APIClient()
    client.force_authenticate(admin_user)
    bad = {"creditor": "", "amount": 5000, "iban": "not an iban", "category": "food"}
    response = client.post(f"/api/v1/tasks/{task.pk}/complete/", {"data": bad}, format="json")
    assert response.status_code == 400, response.content
    errors = response.json()["errors"]
    assert {"creditor", "amount", "iban", "category"} <= set(errors.get("data", errors))
    good = {"creditor": "Great Pizza", "amount": 30, "iban": "DE44500105175407324931", "category": "travel"}
    response = client.post(f"/api/v1/tasks/{task.pk}/complete/", {"data": good}, format="json")
    assert response.status_code == 200, response.content


def test_a_form_the_upload_lacks_is_refused_naming_the_task():
    content = bpmn("no_form", chain('<bpmn:userTask id="approve" camunda:formRef="missing"/>'))
    with pytest.raises(DefinitionInvalidError) as refused:
        services.definition_deploy(files=[("p.bpmn", content)])
    assert refused.value.details[0]["element_id"] == "approve"
