"""/api/v1/operations/: who did what to which instance, filtered, as JSON or CSV."""

import csv
import io

import pytest
from rest_framework.test import APIClient

from processes import services

from .factories import bpmn, chain, deploy_one

pytestmark = pytest.mark.django_db
WAITING = bpmn("audited", chain('<bpmn:userTask id="check"/>'))


@pytest.fixture
def api(admin_user):
    client = APIClient()
    client.force_authenticate(admin_user)
    return client


def test_operations_on_instances_are_listed_with_who_did_them(api, admin_user):
    definition = deploy_one(WAITING)
    first = services.instance_start(definition=definition, user=admin_user, business_key="A-1")
    services.instance_set_variables(instance_id=first.pk, variables={"amount": 5}, user=admin_user)
    services.instance_cancel(instance_id=first.pk, user=admin_user, reason="duplicate")
    services.instance_start(definition=definition)  # nobody: not an operation of a person
    rows = api.get("/api/v1/operations/").json()["results"]
    assert [(r["kind"], r["user"], r["business_key"]) for r in rows] == [
        ("instance_cancelled", "admin", "A-1"),
        ("variables_changed", "admin", "A-1"),
        ("instance_started", "admin", "A-1"),
    ]
    assert api.get("/api/v1/operations/?kind=instance_cancelled").json()["count"] == 1
    assert api.get(f"/api/v1/operations/?instance={first.pk}&user=nobody").json()["count"] == 0


def test_the_log_is_exported_as_csv(api, admin_user):
    instance = services.instance_start(definition=deploy_one(WAITING), user=admin_user)
    services.instance_cancel(instance_id=instance.pk, user=admin_user, reason="duplicate")
    response = api.get("/api/v1/operations/?export=csv")
    assert response["Content-Type"] == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [r["kind"] for r in rows] == ["instance_cancelled", "instance_started"]
    assert '"reason": "duplicate"' in rows[0]["data"]


def test_a_bad_filter_is_a_400_naming_it(api):
    response = api.get("/api/v1/operations/?after=yesterday")
    assert response.status_code == 400 and "after" in response.json()["errors"]


def test_nobody_sees_operations_on_instances_they_cannot_see(admin_user, django_user_model):
    services.instance_start(definition=deploy_one(WAITING), user=admin_user)
    stranger = APIClient()
    stranger.force_authenticate(django_user_model.objects.create_user("eve", password="x"))
    assert stranger.get("/api/v1/operations/").json()["count"] == 0
