"""Deleting a definition version: refused while it has instances unless an administrator asks
for cascade; the key's highest version left becomes active; a version running calls use stays."""

import pytest
from rest_framework.test import APIClient

from bpm.exceptions import Conflict
from processes import services
from processes.models import ProcessDefinition, ProcessInstance

from .factories import bpmn, chain, deploy, deploy_one

pytestmark = pytest.mark.django_db
V1 = bpmn("doomed", chain('<bpmn:userTask id="check"/>'))
V2 = V1.replace(b'id="check"', b'id="check" name="Check"')


def test_a_version_with_instances_is_kept_unless_cascade_is_asked():
    first, second = deploy_one(V1), deploy_one(V2)
    instance = services.instance_start(definition=second)
    with pytest.raises(Conflict) as refused:
        services.definition_delete(definition=second)
    assert refused.value.code == "definition_has_instances"
    services.definition_delete(definition=second, cascade=True)
    assert not ProcessInstance.objects.filter(pk=instance.pk).exists()
    assert list(ProcessDefinition.objects.filter(key="doomed").values_list("version", "is_active")) == [(1, True)]
    assert first.resource.deployment.resources.exists()  # files stay with their deployment


def test_a_version_a_running_call_runs_cannot_be_deleted():
    deploy(bpmn("child", chain('<bpmn:userTask id="inner"/>')), "child.bpmn")
    caller = deploy_one(bpmn("caller", chain('<bpmn:callActivity id="call" calledElement="child"/>')), "caller.bpmn")
    services.instance_start(definition=caller)
    child = ProcessDefinition.objects.get(key="child")
    with pytest.raises(Conflict) as refused:
        services.definition_delete(definition=child)
    assert refused.value.code == "definition_in_use"


def test_the_api_deletes_a_version_and_cascade_is_for_administrators(admin_user, designer):
    deploy_one(V1)
    second = deploy_one(V2)
    services.instance_start(definition=second)
    as_designer = APIClient()
    as_designer.force_authenticate(designer)
    assert as_designer.delete(f"/api/v1/definitions/{second.pk}/").status_code == 409
    assert as_designer.delete(f"/api/v1/definitions/{second.pk}/?cascade=true").status_code == 403
    as_admin = APIClient()
    as_admin.force_authenticate(admin_user)
    assert as_admin.delete(f"/api/v1/definitions/{second.pk}/?cascade=true").status_code == 204
    assert as_admin.delete("/engine-rest/process-definition/key/doomed").status_code == 204
    assert not ProcessDefinition.objects.filter(key="doomed").exists()
