"""Camunda Forms (form-js .form files deployed with the diagram): the task gets the form's
fields, and the page and the API validate what the form asks for."""

import json

import pytest
from rest_framework.test import APIClient

from processes import services
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


def test_a_form_the_upload_lacks_deploys_as_in_camunda_and_is_reported():
    content = bpmn("no_form", chain('<bpmn:userTask id="approve" camunda:formRef="missing"/>'))
    definition = services.definition_deploy(files=[("p.bpmn", content)]).created[0]
    [note] = [n for n in definition.compatibility if n["feature"] == "Camunda Form"]
    assert note["element_id"] == "approve" and "'missing' is not in this deployment" in note["effect"]


EXAMPLES = __import__("pathlib").Path(__file__).parent


def _example(folder: str):
    files = [(p.name, p.read_bytes()) for p in sorted((EXAMPLES / folder).iterdir())]
    return services.definition_deploy(files=files).created[0]


def test_camundas_task_camunda_forms_example_deploys_unchanged_and_validates_its_patterns():
    from django.contrib.auth import get_user_model

    demo = get_user_model().objects.create_user("demo")  # the diagram assigns the task to demo
    instance = services.instance_start(
        definition=_example("task_camunda_forms"),
        variables={"creditor": "Great Pizza", "amount": "30", "invoiceNumber": "C-123"},
    )
    task = HumanTask.objects.get(instance=instance)
    assert [f["id"] for f in task.form] == ["creditor", "amount", "invoiceNumber", "approved", "approvedBy"]
    client = APIClient()
    client.force_authenticate(demo)
    bad = {"creditor": "Great Pizza", "amount": "thirty", "invoiceNumber": "C-123", "approved": "yes"}
    response = client.post(f"/api/v1/tasks/{task.pk}/complete/", {"data": bad}, format="json")
    assert response.status_code == 400
    good = {**bad, "amount": "30", "approved": "true", "approvedBy": "demo"}
    assert client.post(f"/api/v1/tasks/{task.pk}/complete/", {"data": good}, format="json").status_code == 200
    instance.refresh_from_db()
    assert instance.status == "completed"


def test_camundas_embedded_form_example_deploys_runs_and_reports_the_form_it_cannot_render():
    definition = _example("task_form_embedded")
    assert any("Embedded HTML forms are not rendered" in n["effect"] for n in definition.compatibility)
    instance = services.instance_start(definition=definition, variables={"amount": 1000, "customer": "Ada"})
    # the embedded form is not rendered: the task shows a form generated from the variables
    form = HumanTask.objects.get(instance=instance).form
    assert [(f["id"], f["type"]) for f in form] == [("amount", "long"), ("customer", "string")]
    step = instance.waiting_steps.get()
    instance = services.instance_complete_step(
        instance_id=instance.pk, spiff_task_id=str(step.spiff_task_id), data={"approved": True}
    )
    assert instance.status == "completed"


SCHEMA = {
    "title": "Pizza",
    "type": "object",
    "required": ["size"],
    "properties": {
        "size": {"type": "string", "title": "Size", "enum": ["small", "large"]},
        "slices": {"type": "integer", "minimum": 1, "maximum": 12},
        "note": {"type": "string", "maxLength": 20},
        "extra_cheese": {"type": "boolean"},
    },
}


def test_a_spiffarena_json_schema_form_is_the_tasks_form_and_is_validated(admin_user):
    content = (
        b'<?xml version="1.0" encoding="UTF-8"?>'
        b'<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        b'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d" targetNamespace="t">'
        b'<bpmn:process id="pizza" isExecutable="true"><bpmn:startEvent id="start"/>'
        b'<bpmn:userTask id="order"><bpmn:extensionElements><spiffworkflow:properties>'
        b'<spiffworkflow:property name="formJsonSchemaFilename" value="pizza_form.json"/>'
        b'</spiffworkflow:properties></bpmn:extensionElements></bpmn:userTask><bpmn:endEvent id="end"/>'
        b'<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="order"/>'
        b'<bpmn:sequenceFlow id="f2" sourceRef="order" targetRef="end"/></bpmn:process></bpmn:definitions>'
    )
    files = [("pizza.bpmn", content), ("pizza_form.json", json.dumps(SCHEMA).encode())]
    instance = services.instance_start(definition=services.definition_deploy(files=files).created[0])
    task = HumanTask.objects.get(instance=instance)
    assert [f["id"] for f in task.form] == ["size", "slices", "note", "extra_cheese"]
    client = APIClient()
    client.force_authenticate(admin_user)
    response = client.post(f"/api/v1/tasks/{task.pk}/complete/", {"data": {"slices": 20}}, format="json")
    assert response.status_code == 400
    response = client.post(
        f"/api/v1/tasks/{task.pk}/complete/", {"data": {"size": "large", "slices": 8}}, format="json"
    )
    assert response.status_code == 200, response.content


START_FORM = bpmn(
    "with_start_form",
    '<bpmn:startEvent id="start"><bpmn:extensionElements><camunda:formData>'
    '<camunda:formField id="creditor" label="Creditor" type="string"><camunda:validation>'
    '<camunda:constraint name="required"/></camunda:validation></camunda:formField>'
    '<camunda:formField id="amount" label="Amount" type="long"/>'
    "</camunda:formData></bpmn:extensionElements></bpmn:startEvent>"
    '<bpmn:userTask id="check"/><bpmn:endEvent id="end"/>'
    '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="check"/>'
    '<bpmn:sequenceFlow id="f2" sourceRef="check" targetRef="end"/>',
)


def test_the_start_page_renders_the_start_events_form_and_keeps_what_was_typed_on_error(client, admin_user):
    from processes.models import ProcessInstance

    definition = services.definition_deploy(files=[("p.bpmn", START_FORM)]).created[0]
    client.force_login(admin_user)
    page = client.get(f"/processes/definitions/{definition.pk}/").content.decode()
    assert 'id="start-field-creditor"' in page and 'name="amount"' in page
    refused = client.post(f"/processes/definitions/{definition.pk}/start/", {"amount": "30", "business_key": "S-1"})
    assert refused.status_code == 400
    assert 'value="30"' in refused.content.decode() and not ProcessInstance.objects.exists()
    started = client.post(f"/processes/definitions/{definition.pk}/start/", {"creditor": "Great Pizza", "amount": "30"})
    assert started.status_code == 302
    instance = ProcessInstance.objects.get()
    assert instance.variables["creditor"] == "Great Pizza" and instance.variables["amount"] == 30


def _page_client(user):
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client


def test_the_task_page_hands_the_camunda_form_to_form_js_with_the_values_it_starts_with(admin_user):
    instance = services.instance_start(
        definition=_deploy('camunda:formRef="approve-form"'), variables={"creditor": "Great Pizza", "amount": 30}
    )
    task = HumanTask.objects.get(instance=instance)
    HumanTask.objects.filter(pk=task.pk).update(assignee=admin_user)
    page = _page_client(admin_user).get(f"/tasks/{task.pk}/").content.decode()
    assert 'data-form-js="task-form-js"' in page and "vendor/form-js/form-viewer.umd.js" in page
    start = page.index('id="task-form-js-data"')
    handed = json.loads(page[page.index(">", start) + 1 : page.index("</script>", start)])
    assert handed["schema"]["id"] == "approve-form"
    assert handed["data"] == {"creditor": "Great Pizza", "amount": 30}


def test_data_posted_by_form_js_is_checked_by_the_server_and_its_errors_listed_above_the_form(admin_user):
    instance = services.instance_start(definition=_deploy('camunda:formRef="approve-form"'))
    task = HumanTask.objects.get(instance=instance)
    HumanTask.objects.filter(pk=task.pk).update(assignee=admin_user)
    client = _page_client(admin_user)
    bad = {"creditor": "Great Pizza", "amount": 5000, "category": "food", "approved": True}
    response = client.post(f"/tasks/{task.pk}/complete/", {"form_json": json.dumps(bad)})
    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="form-errors"' in page and 'data-field="amount"' in page and 'data-field="category"' in page
    assert '"amount": 5000' in page  # form-js is drawn again with what was posted
    good = {**bad, "amount": 30, "category": "travel"}
    response = client.post(f"/tasks/{task.pk}/complete/", {"form_json": json.dumps(good)})
    assert response.status_code == 302
    instance.refresh_from_db()
    assert instance.status == "completed"
    assert instance.variables["approved"] is True and instance.variables["amount"] == 30
