"""Chat injection (issue 13.9): business keys and names reach Slack and Teams as plain text."""

import json

import pytest
from guardian.shortcuts import assign_perm
from rest_framework.test import APIClient

from notifications import services
from tests.notifications.conftest import receiver  # noqa: F401 - the local webhook receiver
from tests.processes.factories import bpmn, chain, deploy_one
from tests.tasks.factories import user

pytestmark = pytest.mark.django_db

HOSTILE_KEY = "<!channel> <https://evil.example/login|Reset your password> **now** [x](https://evil.example)"


def start_with_hostile_key():
    definition = deploy_one(bpmn("notify", chain('<bpmn:userTask id="t" name="Approve" camunda:assignee="ann"/>')))
    user("ann")
    starter = user("sam")
    assign_perm("processes.start_instance", starter, definition)
    api = APIClient()
    api.force_authenticate(starter)
    response = api.post("/api/v1/instances/", {"definition_key": "notify", "business_key": HOSTILE_KEY}, format="json")
    assert response.status_code == 201, response.content
    services.deliver_due()


def test_a_business_key_cannot_ping_a_slack_channel_or_add_a_link(receiver):  # noqa: F811
    services.subscription_create(
        name="chat", url=receiver["url"], format="slack", event_types=["workflow.task.assigned"]
    )
    start_with_hostile_key()
    text = json.loads(receiver["requests"][0]["body"])["text"]
    assert "<!channel>" not in text and "<https://evil" not in text
    assert "&lt;!channel&gt;" in text
    assert text.count("<") == 1 and text.endswith("|open>")  # our own link is the only one


def test_a_business_key_cannot_add_markdown_or_links_to_a_teams_card(receiver):  # noqa: F811
    services.subscription_create(
        name="chat", url=receiver["url"], format="teams", event_types=["workflow.task.assigned"]
    )
    start_with_hostile_key()
    card = json.loads(receiver["requests"][0]["body"])
    assert "[x](https" not in card["title"] and "**now**" not in card["title"] and "<https" not in card["title"]
    assert r"\[x\]" in card["title"] and r"&lt;\!channel&gt;" in card["title"]
