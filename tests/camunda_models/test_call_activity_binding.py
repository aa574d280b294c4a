"""camunda:calledElementBinding as Camunda resolves it: latest (the default) when the call
happens, deployment, version and versionTag; a running call keeps its version."""

import pytest

from processes import services
from processes.exceptions import CommandFailed, DefinitionInvalidError
from processes.models import ProcessDefinition
from tasks import services as task_services

from ..processes.factories import bpmn, chain, deploy

pytestmark = pytest.mark.django_db


def _child(version: int, *, tag: str = "", wait: bool = False, assignee: str = "") -> bytes:
    """The called process: marks which version ran, optionally waits at a user task first."""
    steps = []
    if wait:
        steps.append(f'<bpmn:userTask id="review" camunda:assignee="{assignee or "admin"}"/>')
    steps.append(
        f'<bpmn:scriptTask id="mark" scriptFormat="python"><bpmn:script>ran = {version}</bpmn:script></bpmn:scriptTask>'
    )
    document = bpmn("child", chain(*steps))
    if tag:
        document = document.replace(
            b'<bpmn:process id="child"', f'<bpmn:process id="child" camunda:versionTag="{tag}"'.encode()
        )
    return document


def _parent(attributes: str = "") -> bytes:
    return bpmn(
        "parent",
        chain(
            f'<bpmn:callActivity id="call" calledElement="child" {attributes}><bpmn:extensionElements>'
            '<camunda:out variables="all"/></bpmn:extensionElements></bpmn:callActivity>',
            '<bpmn:userTask id="after"/>',
        ),
    )


def _deploy_parent(attributes: str = "", *, with_child: bytes | None = None) -> ProcessDefinition:
    files = [("parent.bpmn", _parent(attributes))]
    if with_child is not None:
        files.append(("child.bpmn", with_child))
    return next(d for d in services.definition_deploy(files=files).created if d.key == "parent")


def test_by_default_the_call_runs_the_version_active_when_the_call_happens():
    deploy(_child(1), "child.bpmn")
    parent = _deploy_parent()
    deploy(_child(2), "child.bpmn")
    assert services.instance_start(definition=parent).variables["ran"] == 2


def test_a_called_process_already_running_goes_on_in_its_own_version(admin_user):
    deploy(_child(1), "child.bpmn")
    parent = _deploy_parent()  # bundled with version 1
    deploy(_child(2, wait=True), "child.bpmn")
    instance = services.instance_start(definition=parent)  # calls version 2, which waits
    deploy(_child(3, wait=True, assignee="someone"), "child.bpmn")
    task = instance.human_tasks.get()
    assert task.element_id == "review" and task.assignee.username == "admin"
    task_services.task_complete(task_id=task.pk, user=admin_user)
    instance.refresh_from_db()
    assert instance.variables["ran"] == 2
    later = services.instance_start(definition=parent)
    assert later.human_tasks.get().assignee is None  # version 3's assignee, who has no account here


def test_deployment_binding_runs_the_version_deployed_with_the_caller():
    parent = _deploy_parent('camunda:calledElementBinding="deployment"', with_child=_child(1))
    deploy(_child(2), "child.bpmn")
    assert services.instance_start(definition=parent).variables["ran"] == 1


def test_version_binding_runs_that_version():
    deploy(_child(1), "child.bpmn")
    deploy(_child(2), "child.bpmn")
    parent = _deploy_parent('camunda:calledElementBinding="version" camunda:calledElementVersion="1"')
    deploy(_child(3), "child.bpmn")
    assert services.instance_start(definition=parent).variables["ran"] == 1


def test_version_tag_binding_runs_the_newest_version_with_that_tag():
    deploy(_child(1, tag="stable"), "child.bpmn")
    deploy(_child(2, tag="stable"), "child.bpmn")
    deploy(_child(3, tag="beta"), "child.bpmn")
    parent = _deploy_parent('camunda:calledElementBinding="versionTag" camunda:calledElementVersionTag="stable"')
    assert ProcessDefinition.objects.get(key="child", version=2).version_tag == "stable"
    assert services.instance_start(definition=parent).variables["ran"] == 2


def test_a_call_to_a_version_that_does_not_exist_fails_the_command_naming_it():
    deploy(_child(1), "child.bpmn")
    parent = _deploy_parent('camunda:calledElementBinding="version" camunda:calledElementVersion="7"')
    with pytest.raises(CommandFailed) as failed:
        services.instance_start(definition=parent)
    assert failed.value.element_id == "call" and "version 7 of process 'child'" in failed.value.message
    assert not parent.instances.exists()


def test_deployment_binding_to_a_process_not_in_the_upload_is_refused_at_deploy():
    deploy(_child(1), "child.bpmn")
    with pytest.raises(DefinitionInvalidError) as refused:
        _deploy_parent('camunda:calledElementBinding="deployment"')
    [problem] = refused.value.details
    assert problem["element_id"] == "call" and "same deployment" in problem["message"]


@pytest.mark.parametrize(
    ("attributes", "says"),
    [
        ('camunda:calledElementBinding="version"', "calledElementVersion"),
        ('camunda:calledElementBinding="version" camunda:calledElementVersion="${v}"', "whole number"),
        ('camunda:calledElementBinding="versionTag"', "calledElementVersionTag"),
        ('camunda:calledElementBinding="newest"', "latest, deployment, version or versionTag"),
    ],
)
def test_a_binding_that_cannot_name_a_version_is_refused_at_deploy(attributes, says):
    deploy(_child(1), "child.bpmn")
    with pytest.raises(DefinitionInvalidError) as refused:
        _deploy_parent(attributes)
    [problem] = refused.value.details
    assert problem["element_id"] == "call" and says in problem["message"]
