"""Web pages for designers and owners, through Django's test client."""

from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from processes import services
from processes.models import ProcessDefinition

from .factories import bpmn, chain, deploy_one

pytestmark = pytest.mark.django_db

DEMO = Path(__file__).resolve().parents[2] / "processes" / "demo" / "leave_request.bpmn"


def test_pages_need_a_login(client):
    response = client.get(reverse("processes:definition-list"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_the_upload_page_is_refused_to_users_without_the_designer_role(client):
    user = get_user_model().objects.create_user("u", password="pw")
    client.force_login(user)
    assert client.get(reverse("processes:definition-upload")).status_code == 403


def test_uploading_a_diagram_deploys_it_and_shows_its_page(client, designer):
    client.force_login(designer)
    with DEMO.open("rb") as f:
        response = client.post(reverse("processes:definition-upload"), {"files": [f]}, follow=True)
    definition = ProcessDefinition.objects.get(key="leave_request")
    assert response.redirect_chain[-1][0] == reverse("processes:definition-detail", args=[definition.pk])
    assert b"Deployed leave_request v1" in response.content


def test_uploading_decision_tables_alone_deploys_them_and_says_which(client, designer):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from .test_deploy import DMN_ALONE

    client.force_login(designer)
    upload = SimpleUploadedFile("level.dmn", DMN_ALONE)
    response = client.post(reverse("processes:definition-upload"), {"files": [upload]}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("processes:definition-list")
    assert b"Deployed level v1" in response.content


def test_an_invalid_upload_lists_each_problem_with_line_and_element(client, designer):
    client.force_login(designer)
    from django.core.files.uploadedfile import SimpleUploadedFile

    bad = SimpleUploadedFile("bad.bpmn", bpmn("x", chain('<bpmn:callActivity id="call" calledElement="nowhere"/>')))
    response = client.post(reverse("processes:definition-upload"), {"files": [bad]})
    assert response.status_code == 422
    assert b"nowhere" in response.content and b"<code>call</code>" in response.content
    assert not ProcessDefinition.objects.exists()


def test_starting_from_the_definition_page_opens_the_instance(client, admin_user):
    definition = deploy_one(bpmn("web", chain('<bpmn:userTask id="t" name="Do it"/>')))
    client.force_login(admin_user)
    response = client.post(
        reverse("processes:instance-start", args=[definition.pk]),
        {"business_key": "W-1", "variables": '{"a": 1}'},
        follow=True,
    )
    assert b"W-1" in response.content and b"Do it" in response.content


def test_bad_start_variables_are_reported_and_nothing_starts(client, admin_user):
    definition = deploy_one(bpmn("web", chain('<bpmn:userTask id="t"/>')))
    client.force_login(admin_user)
    response = client.post(
        reverse("processes:instance-start", args=[definition.pk]), {"variables": "{oops"}, follow=True
    )
    assert b"Not valid JSON" in response.content
    assert definition.instances.count() == 0


def test_the_instance_page_shows_history_waiting_steps_and_variables(client, admin_user):
    definition = deploy_one(bpmn("web", chain('<bpmn:userTask id="t" name="Check"/>')))
    instance = services.instance_start(definition=definition, variables={"amount": 5})
    client.force_login(admin_user)
    page = client.get(reverse("processes:instance-detail", args=[instance.pk])).content.decode()
    assert "Instance started" in page and "Check" in page and "amount" in page
    assert 'data-current="t"' in page


def test_variables_show_as_json_not_python(client, admin_user):
    definition = deploy_one(bpmn("web", chain('<bpmn:userTask id="t" name="Check"/>')))
    variables = {"ok": False, "none": None, "items": {"a": [1, 2.5]}, "name": "Ann"}
    instance = services.instance_start(definition=definition, variables=variables)
    client.force_login(admin_user)
    page = client.get(reverse("processes:instance-detail", args=[instance.pk])).content.decode()
    section = page[page.index('id="variables"') :]
    for shown in ("<td>false</td>", "<td>null</td>", "{&quot;a&quot;: [1, 2.5]}", "<td>Ann</td>"):
        assert shown in section
    assert "False" not in section and "None" not in section


def test_an_instance_stopped_by_an_error_says_so_in_words(client, admin_user):
    from processes.models import ProcessInstance

    definition = deploy_one(bpmn("web", chain('<bpmn:userTask id="t" name="Check"/>')))
    instance = services.instance_start(definition=definition)
    ProcessInstance.objects.filter(pk=instance.pk).update(status="error", error_element_id="calc")
    instance.waiting_steps.all().delete()
    client.force_login(admin_user)
    page = client.get(reverse("processes:instance-detail", args=[instance.pk])).content.decode()
    assert "the instance stopped with an error at calc." in page
    assert "is error" not in page


def test_the_compare_page_lists_changes(client, admin_user):
    v1 = deploy_one(bpmn("d", chain('<bpmn:userTask id="a" name="One"/>')))
    v2 = deploy_one(bpmn("d", chain('<bpmn:userTask id="a" name="Two"/>')))
    client.force_login(admin_user)
    page = client.get(reverse("processes:definition-diff", args=[v2.pk]) + f"?other={v1.pk}").content.decode()
    assert "One → Two" in page


def test_an_owner_grants_and_revokes_a_right_from_the_definition_page(client, admin_user):
    from django.contrib.auth.models import Group

    from processes import selectors

    definition = deploy_one(bpmn("granted", chain('<bpmn:userTask id="t"/>')))
    clerk = get_user_model().objects.create_user("clerk", password="pw")
    Group.objects.create(name="clerks")
    client.force_login(admin_user)
    url = reverse("processes:definition-grant", args=[definition.pk])
    client.post(url, {"kind": "user", "name": "clerk", "perm": "start_instance"})
    client.post(url, {"kind": "group", "name": "clerks", "perm": "own_process"})
    assert selectors.user_can_start(clerk, definition)
    page = client.get(reverse("processes:definition-detail", args=[definition.pk])).content.decode()
    assert "clerk" in page and "start instances" in page and "own the process" in page
    client.post(
        reverse("processes:definition-revoke", args=[definition.pk]),
        {"kind": "user", "name": "clerk", "perm": "start_instance"},
    )
    clerk = get_user_model().objects.get(pk=clerk.pk)  # fresh permission cache
    assert not selectors.user_can_start(clerk, definition)


def test_granting_to_an_unknown_user_says_so(client, admin_user):
    definition = deploy_one(bpmn("granted", chain('<bpmn:userTask id="t"/>')))
    client.force_login(admin_user)
    response = client.post(
        reverse("processes:definition-grant", args=[definition.pk]),
        {"kind": "user", "name": "ghost", "perm": "own_process"},
        follow=True,
    )
    assert b"No user named" in response.content


def test_a_user_who_owns_nothing_cannot_grant(client):
    definition = deploy_one(bpmn("granted", chain('<bpmn:userTask id="t"/>')))
    user = get_user_model().objects.create_user("plain2", password="pw")
    from guardian.shortcuts import assign_perm

    assign_perm("processes.start_instance", user, definition)
    client.force_login(user)
    response = client.post(
        reverse("processes:definition-grant", args=[definition.pk]),
        {"kind": "user", "name": "plain2", "perm": "own_process"},
    )
    assert response.status_code == 403
