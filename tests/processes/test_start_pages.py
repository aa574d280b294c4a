"""Starting a process from the web: the list of what one may start, and its start page."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission

from processes import services
from processes.models import ProcessDefinition, ProcessInstance

from .factories import bpmn, chain, deploy_one

pytestmark = pytest.mark.django_db

FORMLESS = bpmn("formless", chain('<bpmn:userTask id="t"/>'))
WITH_FORM = bpmn(
    "asks",
    '<bpmn:startEvent id="start"><bpmn:extensionElements><camunda:formData>'
    '<camunda:formField id="item" label="Item" type="string"><camunda:validation>'
    '<camunda:constraint name="required"/></camunda:validation></camunda:formField>'
    '<camunda:formField id="amount" label="Amount" type="long"/>'
    "</camunda:formData></bpmn:extensionElements></bpmn:startEvent>"
    '<bpmn:userTask id="t"/><bpmn:endEvent id="end"/>'
    '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="t"/><bpmn:sequenceFlow id="f2" sourceRef="t" targetRef="end"/>',
)


def _starter(name="sam"):
    person = get_user_model().objects.create_user(name)
    person.user_permissions.add(Permission.objects.get(codename="start_instance"))
    person.user_permissions.add(Permission.objects.get(codename="view_processdefinition"))
    return get_user_model().objects.get(pk=person.pk)


def test_start_a_process_lists_what_the_user_may_start(client):
    deploy_one(WITH_FORM)
    client.force_login(_starter())
    page = client.get("/processes/start/").content.decode()
    assert 'id="start-asks"' in page


def test_a_grant_on_one_process_lists_that_process_only(client, django_assert_max_num_queries):
    from guardian.shortcuts import assign_perm

    granted = deploy_one(WITH_FORM)
    deploy_one(FORMLESS)
    person = get_user_model().objects.create_user("gia")
    assign_perm("processes.start_instance", person, granted)
    client.force_login(person)
    client.get("/processes/start/")
    with django_assert_max_num_queries(12):
        page = client.get("/processes/start/").content.decode()
    assert 'id="start-asks"' in page and 'id="start-formless"' not in page


def test_someone_who_may_start_nothing_is_told_how_to_get_the_right(client):
    deploy_one(WITH_FORM)
    client.force_login(get_user_model().objects.create_user("nobody"))
    assert 'id="nothing-to-start"' in client.get("/processes/start/").content.decode()


def test_the_start_page_shows_the_start_form_and_no_json_box_to_a_non_designer(client):
    definition = deploy_one(WITH_FORM)
    client.force_login(_starter())
    page = client.get(f"/processes/definitions/{definition.pk}/start/").content.decode()
    assert 'id="start-field-item"' in page and 'name="variables"' not in page


def test_a_process_without_a_start_form_offers_the_json_box_to_designers_only(client, designer):
    definition = deploy_one(FORMLESS)
    client.force_login(_starter())
    assert 'id="no-start-form"' in client.get(f"/processes/definitions/{definition.pk}/start/").content.decode()
    designer.user_permissions.add(Permission.objects.get(codename="start_instance"))
    client.force_login(designer)
    assert 'name="variables"' in client.get(f"/processes/definitions/{definition.pk}/start/").content.decode()


def test_raw_variables_from_a_non_designer_are_not_taken(client):
    definition = deploy_one(FORMLESS)
    client.force_login(_starter())
    client.post(f"/processes/definitions/{definition.pk}/start/", {"variables": '{"amount": 1}', "business_key": "B"})
    assert ProcessInstance.objects.get().variables.get("amount") is None


def test_a_refused_start_shows_the_start_page_again_with_what_was_typed(client):
    failing = bpmn("fails", chain('<bpmn:scriptTask id="boom"><bpmn:script>x = 1 / 0</bpmn:script></bpmn:scriptTask>'))
    definition = services.definition_deploy(files=[("f.bpmn", failing)]).created[0]
    client.force_login(_starter())
    response = client.post(f"/processes/definitions/{definition.pk}/start/", {"business_key": "KEEP-ME"})
    assert response.status_code == 422
    page = response.content.decode()
    assert 'value="KEEP-ME"' in page and 'id="start-form"' in page
    assert not ProcessInstance.objects.exists() and ProcessDefinition.objects.filter(key="fails").exists()


def test_a_start_form_that_is_not_filled_in_starts_nothing_and_keeps_the_other_fields(client):
    definition = deploy_one(WITH_FORM)
    client.force_login(_starter())
    response = client.post(f"/processes/definitions/{definition.pk}/start/", {"amount": "7", "business_key": "K-1"})
    assert response.status_code == 400
    page = response.content.decode()
    assert 'value="7"' in page and 'value="K-1"' in page and not ProcessInstance.objects.exists()


def test_a_json_schema_start_form_renders_as_its_fields(client):
    import json

    schema = {"title": "Order", "type": "object", "required": ["size"],
              "properties": {"size": {"type": "string", "title": "Size", "enum": ["small", "large"]},
                             "slices": {"type": "integer", "title": "Slices", "minimum": 1}}}  # fmt: skip
    content = (
        b'<?xml version="1.0" encoding="UTF-8"?>'
        b'<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        b'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d" targetNamespace="t">'
        b'<bpmn:process id="pizza" isExecutable="true"><bpmn:startEvent id="start"><bpmn:extensionElements>'
        b'<spiffworkflow:properties><spiffworkflow:property name="formJsonSchemaFilename" value="order.json"/>'
        b"</spiffworkflow:properties></bpmn:extensionElements></bpmn:startEvent>"
        b'<bpmn:userTask id="bake"/><bpmn:endEvent id="end"/>'
        b'<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="bake"/>'
        b'<bpmn:sequenceFlow id="f2" sourceRef="bake" targetRef="end"/></bpmn:process></bpmn:definitions>'
    )
    files = [("pizza.bpmn", content), ("order.json", json.dumps(schema).encode())]
    definition = services.definition_deploy(files=files).created[0]
    client.force_login(_starter())
    page = client.get(f"/processes/definitions/{definition.pk}/start/").content.decode()
    assert 'id="start-field-size"' in page and 'id="start-field-slices"' in page
    client.post(f"/processes/definitions/{definition.pk}/start/", {"size": "large", "slices": "8"})
    assert ProcessInstance.objects.get().variables["size"] == "large"
