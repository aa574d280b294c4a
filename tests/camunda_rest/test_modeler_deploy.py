"""Camunda Modeler's Deploy button works unchanged: the request it sends to
/engine-rest/deployment/create (multipart: deployment-name, deployment-source,
deploy-changed-only, one part per file named by the file) deploys, and a broken diagram
comes back as Camunda's ParseException with the element and line."""

import pytest
import requests
from django.contrib.auth.models import Permission

from processes.models import ProcessDefinition

from ..processes.factories import bpmn, chain

pytestmark = pytest.mark.slow

DIAGRAM = bpmn("invoice_check", chain('<bpmn:userTask id="check" name="Check invoice"/>'))
FORM = b'{"id": "check-form", "type": "default", "components": [{"type": "textfield", "key": "note", "label": "Note"}]}'


@pytest.fixture
def designer_auth(django_user_model):
    user = django_user_model.objects.create_user("modeler", password="pw-modeler")
    user.user_permissions.add(
        *Permission.objects.filter(codename__in=["add_processdefinition", "view_processdefinition"])
    )
    return ("modeler", "pw-modeler")


def _modeler_deploy(url: str, auth, files: dict[str, bytes]):
    # field order and names as Camunda Modeler 5 sends them (app/lib/deployment: form-data)
    fields = [
        ("deployment-name", (None, "invoice check")),
        ("deployment-source", (None, "Camunda Modeler")),
        ("deploy-changed-only", (None, "true")),
        *[(name, (name, content, "application/octet-stream")) for name, content in files.items()],
    ]
    return requests.post(f"{url}/engine-rest/deployment/create", files=fields, auth=auth, timeout=10)


@pytest.mark.django_db(transaction=True)
def test_camunda_modelers_deploy_request_deploys_the_diagram_and_its_form(live_server, designer_auth):
    response = _modeler_deploy(live_server.url, designer_auth, {"invoice_check.bpmn": DIAGRAM, "check.form": FORM})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["name"] == "invoice check" and body["id"]
    [(definition_id, definition)] = body["deployedProcessDefinitions"].items()
    assert definition["key"] == "invoice_check" and definition["version"] == 1
    assert ProcessDefinition.objects.get(pk=int(definition_id)).key == "invoice_check"
    again = _modeler_deploy(live_server.url, designer_auth, {"invoice_check.bpmn": DIAGRAM, "check.form": FORM})
    assert again.status_code == 200 and again.json()["deployedProcessDefinitions"] is None  # unchanged
    assert ProcessDefinition.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_dmn_editors_deploy_request_deploys_the_decision_tables_alone(live_server, designer_auth):
    from ..processes.test_deploy import DMN_ALONE

    response = _modeler_deploy(live_server.url, designer_auth, {"level.dmn": DMN_ALONE})
    assert response.status_code == 200, response.text
    [decision] = response.json()["deployedDecisionDefinitions"].values()
    assert (decision["key"], decision["version"], decision["resource"]) == ("level", 1, "level.dmn")
    assert response.json()["deployedProcessDefinitions"] is None


@pytest.mark.django_db(transaction=True)
def test_a_broken_diagram_comes_back_as_camundas_parse_exception(live_server, designer_auth):
    broken = bpmn("broken", chain('<bpmn:scriptTask id="calc"><bpmn:script>x = (</bpmn:script></bpmn:scriptTask>'))
    response = _modeler_deploy(live_server.url, designer_auth, {"broken.bpmn": broken})
    assert response.status_code == 400
    body = response.json()
    assert body["type"] == "ParseException"
    [error] = body["details"]["broken.bpmn"]["errors"]
    assert error["mainElementId"] == "calc" and error["line"]
    assert ProcessDefinition.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_deploying_without_the_designer_role_is_refused_in_camundas_shape(live_server, django_user_model):
    django_user_model.objects.create_user("clerk", password="pw-clerk")
    response = _modeler_deploy(live_server.url, ("clerk", "pw-clerk"), {"invoice_check.bpmn": DIAGRAM})
    assert response.status_code == 403 and response.json()["type"] == "AuthorizationException"


@pytest.mark.django_db(transaction=True)
def test_no_credentials_get_a_basic_challenge(live_server):
    response = requests.get(f"{live_server.url}/engine-rest/deployment", timeout=10)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Basic")
    assert response.json()["type"] in ("RestException", "AuthenticationException")
