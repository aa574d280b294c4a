"""docs/engine-rest.yaml stays true: it documents every route (and nothing else), is valid
OpenAPI, and each answer has exactly the fields its schema lists."""

from pathlib import Path

import pytest
import yaml
from django.urls import path
from drf_spectacular.validation import validate_schema
from rest_framework.test import APIClient

from camunda_rest import openapi
from camunda_rest.base import CamundaView
from camunda_rest.management.commands.engine_rest_schema import render
from camunda_rest.schemas import SCHEMAS
from camunda_rest.urls import resource_patterns
from processes import services
from tasks.models import HumanTask

from ..jobs.test_job_api import TIMER
from ..processes.factories import deploy, deploy_one
from .diagrams import CHARGE
from .test_history_and_decisions import INVOICE_DMN, REVIEW

DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "engine-rest.yaml"
REST = "/engine-rest"


def test_the_document_in_docs_is_what_the_routes_build():
    assert DOCUMENT.read_text(encoding="utf-8") == render(), "run: make schema"


def test_the_document_is_valid_openapi():
    validate_schema(yaml.safe_load(DOCUMENT.read_text(encoding="utf-8")))


class NoDocs(CamundaView):
    def get(self, request):
        return None


def test_a_route_without_documentation_stops_the_document_naming_it():
    with pytest.raises(openapi.UndocumentedRoute, match="get /secret"):
        openapi.build([*resource_patterns, path("secret", NoDocs.as_view())])


@pytest.fixture
def client(admin_user):
    client = APIClient()
    client.force_authenticate(admin_user)
    return client


def _fields(name: str) -> set[str]:
    return set(SCHEMAS[name]["properties"])


def _answer(client, method: str, url: str, body=None):
    response = (
        getattr(client, method)(f"{REST}{url}", body, format="json")
        if body is not None
        else getattr(client, method)(f"{REST}{url}")
    )
    assert response.status_code == 200, (url, response.content)
    return response.json()


@pytest.mark.django_db
def test_each_answer_has_exactly_the_fields_of_its_documented_schema(client):
    deployed = deploy(REVIEW)
    definition = deployed.created[0]
    deploy(INVOICE_DMN.read_bytes(), name=INVOICE_DMN.name)
    charge = services.instance_start(definition=deploy_one(CHARGE), variables={"amount": 5, "priority": 1})
    timer = services.instance_start(definition=deploy_one(TIMER))
    started = _answer(client, "post", "/process-definition/key/review/start", {"withVariablesInReturn": True})
    instance_id = started["id"]
    task = HumanTask.objects.get(instance_id=instance_id)
    comment = _answer(client, "post", f"/task/{task.pk}/comment/create", {"message": "looked at it"})
    locked = _answer(
        client,
        "post",
        "/external-task/fetchAndLock",
        {"workerId": "w", "maxTasks": 1, "topics": [{"topicName": "charge-card", "lockDuration": 1000}]},
    )
    answers = {
        "ProcessDefinitionDto": _answer(client, "get", "/process-definition")[0],
        "ProcessDefinitionDiagramDto": _answer(client, "get", f"/process-definition/{definition.pk}/xml"),
        "ProcessInstanceWithVariablesDto": started,
        "ProcessInstanceDto": _answer(client, "get", f"/process-instance/{instance_id}"),
        "ActivityInstanceDto": _answer(client, "get", f"/process-instance/{instance_id}/activity-instances"),
        "TaskDto": _answer(client, "get", f"/task/{task.pk}"),
        "CommentDto": comment,
        "IdentityLinkDto": _answer(client, "get", f"/task/{task.pk}/identity-links")[0],
        "LockedExternalTaskDto": locked[0],
        "ExternalTaskDto": _answer(client, "get", f"/external-task?processInstanceId={charge.pk}")[0],
        "DeploymentDto": _answer(client, "get", f"/deployment/{definition.deployment_id}"),
        "DeploymentResourceDto": _answer(client, "get", f"/deployment/{definition.deployment_id}/resources")[0],
        "DecisionDefinitionDto": _answer(client, "get", "/decision-definition/key/invoiceClassification"),
        "DecisionDefinitionDiagramDto": _answer(client, "get", "/decision-definition/key/invoiceClassification/xml"),
        "HistoricProcessInstanceDto": _answer(client, "get", f"/history/process-instance/{instance_id}"),
        "HistoricActivityInstanceDto": _answer(
            client, "get", f"/history/activity-instance?processInstanceId={instance_id}"
        )[0],
        "HistoricTaskInstanceDto": _answer(client, "get", f"/history/task?taskId={task.pk}")[0],
        "HistoricVariableInstanceDto": _answer(
            client, "get", f"/history/variable-instance?processInstanceId={charge.pk}"
        )[0],
        "VersionDto": _answer(client, "get", "/version"),
        "EngineDto": _answer(client, "get", "/engine")[0],
        "CountResultDto": _answer(client, "get", "/task/count"),
        "JobDto": _answer(client, "get", f"/job?processInstanceId={timer.pk}")[0],
    }
    for name, answer in answers.items():
        assert set(answer) == _fields(name), name
