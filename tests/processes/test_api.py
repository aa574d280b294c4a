"""The REST API: anonymous, unpermitted and permitted callers; errors as problem+json."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from guardian.shortcuts import assign_perm
from rest_framework.test import APIClient

from .factories import bpmn, chain, deploy_one

pytestmark = pytest.mark.django_db

DIAGRAM = bpmn("api_process", chain('<bpmn:userTask id="review" name="Review"/>'))


@pytest.fixture
def client():
    return APIClient()


@pytest.fixture
def plain_user(db):
    return get_user_model().objects.create_user("plain", password="pw")


def as_user(client, user):
    client.force_authenticate(user)
    return client


def upload(client, content=DIAGRAM, name="p.bpmn"):
    return client.post("/api/v1/definitions/", {"files": [SimpleUploadedFile(name, content)]}, format="multipart")


def test_anonymous_callers_are_refused(client):
    # Basic is offered (WWW-Authenticate), so an anonymous caller is asked to authenticate
    assert client.get("/api/v1/definitions/").status_code == 401
    assert upload(client).status_code == 401


def test_a_user_without_the_designer_role_cannot_deploy(client, plain_user):
    response = upload(as_user(client, plain_user))
    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"


def test_a_designer_deploys_with_multipart_and_gets_201_then_200_for_identical_xml(client, designer):
    as_user(client, designer)
    first = upload(client)
    assert first.status_code == 201
    assert first.json()["created"][0]["key"] == "api_process"
    again = upload(client)
    assert again.status_code == 200
    assert again.json()["changed_anything"] is False


def test_invalid_bpmn_is_a_422_listing_element_and_line(client, designer):
    bad = bpmn("x", chain('<bpmn:callActivity id="call" calledElement="nowhere"/>'))
    response = upload(as_user(client, designer), bad)
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "definition_invalid"
    assert body["errors"][0]["element_id"] == "call"
    assert body["errors"][0]["line"] == 5


def test_deploy_without_files_is_a_400_naming_the_field(client, designer):
    response = as_user(client, designer).post("/api/v1/definitions/", {}, format="multipart")
    assert response.status_code == 400
    assert "files" in response.json()["errors"]


def test_definitions_are_hidden_from_users_without_a_grant(client, plain_user):
    deploy_one(DIAGRAM)
    assert as_user(client, plain_user).get("/api/v1/definitions/").json()["count"] == 0


def test_an_object_grant_on_a_definition_shows_it_and_allows_starting(client, plain_user):
    definition = deploy_one(DIAGRAM)
    assign_perm("processes.start_instance", plain_user, definition)
    as_user(client, plain_user)
    assert client.get("/api/v1/definitions/").json()["count"] == 1
    response = client.post(
        "/api/v1/instances/",
        {"definition_key": "api_process", "business_key": "B-1", "variables": {"n": 1}},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["variables"]["n"] == 1
    assert body["waiting"][0]["element_id"] == "review"


def test_starting_without_the_start_right_is_forbidden(client, plain_user):
    definition = deploy_one(DIAGRAM)
    assign_perm("processes.view_processdefinition", plain_user, definition)
    response = as_user(client, plain_user).post("/api/v1/instances/", {"definition_key": "api_process"}, format="json")
    assert response.status_code == 403


def test_starting_with_both_key_and_id_is_a_400_with_field_message(client, admin_user):
    definition = deploy_one(DIAGRAM)
    response = as_user(client, admin_user).post(
        "/api/v1/instances/", {"definition_key": "api_process", "definition_id": definition.pk}, format="json"
    )
    assert response.status_code == 400
    assert "definition_key" in response.json()["errors"]


def test_starting_an_unknown_key_is_a_404(client, admin_user):
    response = as_user(client, admin_user).post("/api/v1/instances/", {"definition_key": "nope"}, format="json")
    assert response.status_code == 404


def test_completing_a_step_then_reading_history(client, admin_user):
    as_user(client, admin_user)
    deploy_one(DIAGRAM)
    started = client.post("/api/v1/instances/", {"definition_key": "api_process"}, format="json").json()
    step = started["waiting"][0]["spiff_task_id"]
    done = client.post(
        f"/api/v1/instances/{started['id']}/steps/{step}/complete/", {"data": {"ok": True}}, format="json"
    )
    assert done.status_code == 200
    assert done.json()["status"] == "completed"
    again = client.post(f"/api/v1/instances/{started['id']}/steps/{step}/complete/", {"data": {}}, format="json")
    assert again.status_code == 409
    kinds = [e["kind"] for e in client.get(f"/api/v1/instances/{started['id']}/history/").json()["results"]]
    assert kinds[0] == "instance_started" and kinds[-1] == "instance_completed"


def test_an_administrator_completing_a_step_of_an_instance_that_does_not_exist_gets_a_404(client, admin_user):
    step = "0" * 8 + "-0000-0000-0000-" + "0" * 12
    response = as_user(client, admin_user).post(f"/api/v1/instances/999999/steps/{step}/complete/", {}, format="json")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/problem+json")


def test_a_candidate_who_may_not_see_the_instance_gets_a_404_from_the_step_route(client, admin_user, plain_user):
    deploy_one(bpmn("api_hidden", chain('<bpmn:userTask id="review" camunda:candidateUsers="plain"/>')))
    started = as_user(client, admin_user).post("/api/v1/instances/", {"definition_key": "api_hidden"}, format="json")
    step = started.json()["waiting"][0]["spiff_task_id"]
    url = f"/api/v1/instances/{started.json()['id']}/steps/{step}/complete/"
    assert as_user(client, plain_user).post(url, {"data": {}}, format="json").status_code == 404
    assert as_user(client, admin_user).get(f"/api/v1/instances/{started.json()['id']}/").json()["status"] == "running"


def test_cancel_needs_ownership(client, plain_user, admin_user):
    definition = deploy_one(DIAGRAM)
    user_perm = Permission.objects.get(codename="start_instance")
    plain_user.user_permissions.add(user_perm)
    as_user(client, plain_user)
    started = client.post("/api/v1/instances/", {"definition_id": definition.pk}, format="json").json()
    assert client.post(f"/api/v1/instances/{started['id']}/cancel/", {}, format="json").status_code == 403
    as_user(client, admin_user)
    cancelled = client.post(f"/api/v1/instances/{started['id']}/cancel/", {"reason": "test"}, format="json")
    assert cancelled.json()["status"] == "cancelled"


def test_instances_are_filtered_by_status_and_business_key(client, admin_user):
    definition = deploy_one(DIAGRAM)
    as_user(client, admin_user)
    client.post("/api/v1/instances/", {"definition_id": definition.pk, "business_key": "A"}, format="json")
    client.post("/api/v1/instances/", {"definition_id": definition.pk, "business_key": "B"}, format="json")
    assert client.get("/api/v1/instances/?business_key=A").json()["count"] == 1
    assert client.get("/api/v1/instances/?status=completed").json()["count"] == 0


def test_a_message_nothing_waits_for_is_a_404(client, admin_user):
    response = as_user(client, admin_user).post("/api/v1/messages/", {"message_name": "nobody"}, format="json")
    assert response.status_code == 404
    assert response.json()["code"] == "message_not_correlated"


def test_definition_xml_and_diff_endpoints(client, admin_user):
    v1 = deploy_one(DIAGRAM)
    v2 = deploy_one(bpmn("api_process", chain('<bpmn:userTask id="review" name="Check"/>')))
    as_user(client, admin_user)
    xml = client.get(f"/api/v1/definitions/{v1.pk}/xml/")
    assert xml["Content-Type"] == "application/xml" and xml.content == DIAGRAM
    diff = client.get(f"/api/v1/definitions/{v2.pk}/diff/?other={v1.pk}").json()
    assert diff["changed"][0]["element_id"] == "review"
    assert client.get(f"/api/v1/definitions/{v2.pk}/diff/").status_code == 400


def test_the_openapi_schema_is_served(client):
    response = client.get("/api/schema/")
    assert response.status_code == 200
    assert b"/api/v1/instances/" in response.content


def test_a_start_answers_with_its_waiting_steps_without_reading_them_back(client, admin_user):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    deploy_one(DIAGRAM)
    as_user(client, admin_user)
    with CaptureQueriesContext(connection) as queries:
        response = client.post("/api/v1/instances/", {"definition_key": "api_process"}, format="json")
    assert response.status_code == 201
    (waiting,) = response.json()["waiting"]
    assert waiting["element_id"] == "review" and response.json()["incidents"] == []
    reads = [q["sql"] for q in queries if q["sql"].startswith("SELECT")]
    assert not [sql for sql in reads if "processes_waitingstep" in sql or "processes_incident" in sql]


def _complete_first_step(client, started):
    step = started["waiting"][0]["spiff_task_id"]
    return client.post(f"/api/v1/instances/{started['id']}/steps/{step}/complete/", {"data": {}}, format="json")


def test_a_completed_step_answers_without_reading_incidents_when_none_was_open(client, admin_user):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    deploy_one(DIAGRAM)
    started = as_user(client, admin_user).post("/api/v1/instances/", {"definition_key": "api_process"}, format="json")
    with CaptureQueriesContext(connection) as queries:
        done = _complete_first_step(client, started.json())
    assert done.json()["incidents"] == []
    assert not [q["sql"] for q in queries if q["sql"].startswith('SELECT "processes_incident"')]
    assert not [
        q["sql"] for q in queries if q["sql"].startswith('SELECT "auth_user"')
    ]  # the starter came with the lock


def test_a_completed_step_answers_with_the_incident_open_on_another_branch(client, admin_user):
    from processes.models import Incident

    deploy_one(DIAGRAM)
    started = as_user(client, admin_user).post("/api/v1/instances/", {"definition_key": "api_process"}, format="json")
    Incident.objects.create(instance_id=started.json()["id"], element_id="elsewhere", message="the call failed")
    done = _complete_first_step(client, started.json())
    assert [i["element_id"] for i in done.json()["incidents"]] == ["elsewhere"]
    assert done.json()["started_by"] == admin_user.get_username()
