"""Finding instances on the instances page: each criterion, and a bad one said plainly."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from processes import services
from processes.models import ProcessInstance

from .factories import bpmn, chain, deploy_one

pytestmark = pytest.mark.django_db


@pytest.fixture
def instances():
    definition = deploy_one(bpmn("orders", chain('<bpmn:userTask id="t"/>')))
    other = deploy_one(bpmn("returns", chain('<bpmn:userTask id="t"/>')))
    ann = get_user_model().objects.create_user("ann")
    made = {
        "PO-1": services.instance_start(
            definition=definition, business_key="PO-1", variables={"amount": 900}, user=ann
        ),
        "PO-2": services.instance_start(definition=definition, business_key="PO-2", variables={"amount": 50}),
        "RET-1": services.instance_start(definition=other, business_key="RET-1", variables={"amount": 900}),
    }
    ProcessInstance.objects.filter(pk=made["PO-2"].pk).update(
        status="cancelled", started_at=timezone.now() - timedelta(days=10)
    )
    return made


def _found(client, admin_user, **params) -> list[str]:
    client.force_login(admin_user)
    page = client.get("/processes/instances/", params).content.decode()
    return sorted(key for key in ("PO-1", "PO-2", "RET-1") if f"<td>{key}</td>" in page)


def test_by_business_key_in_any_case(client, admin_user, instances):
    assert _found(client, admin_user, business_key="po-") == ["PO-1", "PO-2"]


def test_by_process_and_status(client, admin_user, instances):
    assert _found(client, admin_user, process="orders", status="running") == ["PO-1"]


def test_by_a_variables_value(client, admin_user, instances):
    assert _found(client, admin_user, variable="amount:900") == ["PO-1", "RET-1"]


def test_by_who_started_it(client, admin_user, instances):
    assert _found(client, admin_user, started_by="ann") == ["PO-1"]


def test_by_the_day_it_started(client, admin_user, instances):
    today = timezone.localdate().isoformat()
    assert _found(client, admin_user, started_from=today, started_to=today) == ["PO-1", "RET-1"]


def test_a_malformed_criterion_is_named_and_what_was_typed_stays(client, admin_user, instances):
    client.force_login(admin_user)
    page = client.get("/processes/instances/", {"variable": "amount=900", "business_key": "PO"}).content.decode()
    assert 'id="search-problem"' in page and "name:value" in page
    assert 'value="amount=900"' in page and 'value="PO"' in page


def test_people_find_only_instances_they_may_see(client, instances):
    client.force_login(get_user_model().objects.get(username="ann"))
    page = client.get("/processes/instances/", {"variable": "amount:900"}).content.decode()
    assert "<td>PO-1</td>" in page and "<td>RET-1</td>" not in page
