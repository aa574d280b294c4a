"""Administrators manage webhook subscriptions and dead letters on web pages."""

import pytest
from django.contrib.auth.models import Group

from notifications import services
from notifications.models import Delivery, DeliveryStatus, WebhookSubscription
from tests.tasks.factories import user

pytestmark = pytest.mark.django_db


@pytest.fixture
def administrator(client):
    person = user("root")
    person.groups.add(Group.objects.get(name="BPM Administrator"))
    client.force_login(person)
    return person


def test_creating_a_subscription_shows_the_secret_once(client, administrator, receiver):
    response = client.post(
        "/notifications/webhooks/new/",
        {
            "name": "ERP",
            "url": receiver["url"],
            "format": "standard",
            "event_types": ["workflow.task.assigned"],
            "active": "on",
        },
    )
    page = response.content.decode()
    assert response.status_code == 200 and "will not be shown again" in page
    subscription = WebhookSubscription.objects.get(name="ERP")
    assert subscription.event_types == ["workflow.task.assigned"]
    secret = page.split('<code id="secret">', 1)[1].split("<", 1)[0]
    assert (
        secret.startswith("whsec_")
        and secret not in client.get(f"/notifications/webhooks/{subscription.pk}/").content.decode()
    )


def test_a_private_address_is_refused_on_the_form_with_the_reason(client, administrator):
    response = client.post(
        "/notifications/webhooks/new/", {"name": "Inside", "url": "http://10.1.2.3/hook", "format": "standard"}
    )
    assert response.status_code == 200
    assert "private or internal address" in response.content.decode()
    assert not WebhookSubscription.objects.exists()


def test_editing_a_subscription_can_disable_it(client, administrator, receiver):
    subscription, _ = services.subscription_create(name="ERP", url=receiver["url"])
    response = client.post(
        f"/notifications/webhooks/{subscription.pk}/", {"name": "ERP", "url": receiver["url"], "format": "slack"}
    )
    assert response.status_code == 302
    subscription.refresh_from_db()
    assert (subscription.active, subscription.format) == (False, "slack")


def test_rotating_the_secret_changes_the_signing_key(client, administrator, receiver):
    subscription, first = services.subscription_create(name="ERP", url=receiver["url"])
    page = client.post(f"/notifications/webhooks/{subscription.pk}/rotate-secret/").content.decode()
    second = page.split('<code id="secret">', 1)[1].split("<", 1)[0]
    assert second.startswith("whsec_") and second != first
    # what is sent from now on is signed with the new key, and no longer verifies with the old one
    from notifications import webhooks

    services.event_emit(event_type="workflow.instance.completed", payload={"n": 1}, process_key="p")
    services.deliver_due()
    sent = receiver["requests"][-1]
    assert webhooks.verify(second, sent["headers"], sent["body"])
    assert not webhooks.verify(first, sent["headers"], sent["body"])


def test_dead_letters_are_listed_with_their_error_and_replayed_from_the_page(client, administrator, receiver):
    subscription, _ = services.subscription_create(name="ERP", url=receiver["url"])
    dead = Delivery.objects.create(
        event_type="workflow.task.assigned",
        payload={"version": 1, "type": "workflow.task.assigned", "data": {}},
        channel="webhook",
        subscription=subscription,
        status=DeliveryStatus.DEAD,
        attempts=6,
        last_error="HTTP 503 from 127.0.0.1",
        next_attempt_at="2026-01-01T00:00:00Z",
    )
    page = client.get("/notifications/dead-letters/").content.decode()
    assert "HTTP 503 from 127.0.0.1" in page and str(dead.message_id) in page
    client.post(f"/notifications/dead-letters/{dead.pk}/replay/")
    services.deliver_due()
    dead.refresh_from_db()
    assert dead.status == "delivered" and len(receiver["requests"]) == 1


def test_people_without_the_administrator_role_get_403_on_the_webhook_pages(client):
    client.force_login(user("ann"))
    assert client.get("/notifications/webhooks/").status_code == 403
    assert client.get("/notifications/dead-letters/").status_code == 403


def test_administrators_by_role_manage_subscriptions_through_the_api(client, administrator, receiver):
    created = client.post(
        "/api/v1/webhook-subscriptions/", {"name": "HR", "url": receiver["url"]}, content_type="application/json"
    )
    assert created.status_code == 201, created.content
    pk = created.json()["id"]
    refused = client.patch(
        f"/api/v1/webhook-subscriptions/{pk}/", {"event_types": ["workflow.nope.x"]}, content_type="application/json"
    )
    assert refused.status_code == 400 and "event_types" in refused.content.decode()
    not_a_list = client.patch(
        f"/api/v1/webhook-subscriptions/{pk}/", {"event_types": [{"a": 1}]}, content_type="application/json"
    )
    assert not_a_list.status_code == 400 and "A list of event names" in not_a_list.content.decode()
    rotated = client.post(f"/api/v1/webhook-subscriptions/{pk}/rotate-secret/")
    assert rotated.json()["secret"].startswith("whsec_")
    assert client.delete(f"/api/v1/webhook-subscriptions/{pk}/").status_code == 204


def test_a_notification_is_a_link_that_opens_in_a_new_tab_and_marks_it_read(client):
    from notifications.models import InAppNotification

    ann = user("ann")
    item = InAppNotification.objects.create(user=ann, event_type="x", title="Task for you", link="/tasks/7/")
    client.force_login(ann)
    page = client.get("/notifications/").content.decode()
    assert f'<a href="/notifications/{item.pk}/open/">Task for you</a>' in page
    response = client.get(f"/notifications/{item.pk}/open/")
    assert response.status_code == 302 and response["Location"] == "/tasks/7/"
    item.refresh_from_db()
    assert item.read_at is not None


def test_a_notification_never_sends_its_reader_to_another_site(client):
    from notifications.models import InAppNotification

    ann = user("ann")
    item = InAppNotification.objects.create(user=ann, event_type="x", title="t", link="https://evil.example/")
    client.force_login(ann)
    assert client.get(f"/notifications/{item.pk}/open/")["Location"] == "/notifications/"
