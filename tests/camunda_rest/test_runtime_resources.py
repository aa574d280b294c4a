"""/engine-rest process-instance queries and deployment deletion."""

import pytest
from rest_framework.test import APIClient

from processes import services
from processes.models import Deployment, ProcessDefinition, ProcessInstance

from ..processes.factories import bpmn, chain, deploy

pytestmark = pytest.mark.django_db
REST = "/engine-rest"
WAITING = bpmn("orders", chain('<bpmn:userTask id="check"/>'))


@pytest.fixture
def client(admin_user):
    client = APIClient()
    client.force_authenticate(admin_user)
    return client


def _ids(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [i["id"] for i in response.json()]


def test_instances_are_found_by_variable_comparisons_in_the_database(client):
    definition = deploy(WAITING).created[0]
    small, big, named = (
        services.instance_start(definition=definition, variables=v)
        for v in ({"amount": 30, "customer": "Ada"}, {"amount": 500, "customer": "Grace"}, {"amount": "30"})
    )
    assert _ids(client.get(f"{REST}/process-instance?variables=amount_eq_30")) == [str(small.pk), str(named.pk)]
    assert _ids(client.get(f"{REST}/process-instance?variables=amount_gt_100")) == [str(big.pk)]
    assert _ids(client.get(f"{REST}/process-instance?variables=customer_like_Gr%25,amount_lteq_500")) == [str(big.pk)]
    assert _ids(client.get(f"{REST}/process-instance?variables=customer_neq_Ada")) == [str(big.pk)]
    assert client.get(f"{REST}/process-instance/count?variables=amount_gteq_30").json() == {"count": 2}
    assert client.get(f"{REST}/process-instance?variables=amount").status_code == 400


def test_a_deployment_with_instances_is_deleted_only_with_cascade(client):
    first = deploy(WAITING).created[0]
    second = deploy(WAITING.replace(b'id="check"', b'id="check" name="Check"')).created[0]
    instance = services.instance_start(definition=second)
    response = client.delete(f"{REST}/deployment/{second.deployment_id}")
    assert response.status_code == 409 and "cascade" in response.json()["message"]
    assert ProcessInstance.objects.filter(pk=instance.pk).exists()
    assert client.delete(f"{REST}/deployment/{second.deployment_id}?cascade=true").status_code == 204
    assert not ProcessInstance.objects.filter(pk=instance.pk).exists()
    assert not Deployment.objects.filter(pk=second.deployment_id).exists()
    # the key's remaining version is the one new instances start on again
    assert ProcessDefinition.objects.get(pk=first.pk).is_active


def test_a_camunda_resource_not_served_here_is_a_404_in_camundas_shape(client):
    response = client.get(f"{REST}/identity/groups?userId=demo")
    assert response.status_code == 404
    assert (
        response.json()["type"] == "InvalidRequestException"
        and "/engine-rest/identity/groups" in response.json()["message"]
    )
