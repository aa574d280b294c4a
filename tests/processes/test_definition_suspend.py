"""Suspending a definition version: nothing starts new instances of it until it is resumed;
asked to, its running instances are suspended (and resumed) with it."""

import pytest
from rest_framework.test import APIClient

from processes import services
from processes.exceptions import DefinitionSuspended, NothingWaitsForMessage

from .factories import bpmn, chain, deploy_one

pytestmark = pytest.mark.django_db
WAITING = bpmn("paused", chain('<bpmn:userTask id="check"/>'))
BY_MESSAGE = bpmn(
    "ordered",
    '<bpmn:startEvent id="start"><bpmn:messageEventDefinition messageRef="m"/></bpmn:startEvent>'
    '<bpmn:userTask id="u"/><bpmn:endEvent id="end"/>'
    '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="u"/><bpmn:sequenceFlow id="f2" sourceRef="u" targetRef="end"/>',
    extra='<bpmn:message id="m" name="order"/>',
)


def test_a_suspended_version_starts_nothing_until_it_is_resumed():
    definition = deploy_one(WAITING)
    running = services.instance_start(definition=definition)
    assert services.definition_suspend(definition=definition) == 0
    with pytest.raises(DefinitionSuspended):
        services.instance_start(key="paused")
    running.refresh_from_db()
    assert running.status == "running"  # its instances go on unless asked
    services.definition_resume(definition=definition)
    assert services.instance_start(key="paused").status == "running"


def test_a_message_start_of_a_suspended_version_finds_nothing():
    definition = deploy_one(BY_MESSAGE)
    services.definition_suspend(definition=definition)
    with pytest.raises(NothingWaitsForMessage):
        services.message_correlate(message_name="order")


def test_its_running_instances_are_suspended_and_resumed_when_asked(admin_user):
    definition = deploy_one(WAITING)
    first, second = (services.instance_start(definition=definition) for _ in range(2))
    assert services.definition_suspend(definition=definition, include_instances=True, user=admin_user) == 2
    first.refresh_from_db()
    assert first.status == "suspended"
    assert services.definition_resume(definition=definition, include_instances=True, user=admin_user) == 2
    second.refresh_from_db()
    assert second.status == "running"


def test_the_apis_suspend_and_resume_a_version(admin_user):
    definition = deploy_one(WAITING)
    api = APIClient()
    api.force_authenticate(admin_user)
    answer = api.post(f"/api/v1/definitions/{definition.pk}/suspend/", {}, format="json")
    assert answer.status_code == 200 and answer.json()["is_suspended"] is True
    refused = api.post("/api/v1/instances/", {"definition_key": "paused"}, format="json")
    assert refused.status_code == 409 and refused.json()["code"] == "definition_suspended"
    body = {"suspended": False, "includeProcessInstances": True}
    assert api.put("/engine-rest/process-definition/key/paused/suspended", body, format="json").status_code == 204
    assert api.get(f"/engine-rest/process-definition/{definition.pk}").json()["suspended"] is False
