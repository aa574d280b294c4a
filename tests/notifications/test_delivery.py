"""The outbox: email through a real SMTP server, signed webhooks to a local receiver,
retries, dead letters and replay, and the private-address guard."""

import json
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from notifications import services, webhooks
from notifications.models import Delivery, InAppNotification, WebhookSubscription
from processes import services as process_services
from tests.processes.factories import bpmn, chain, deploy_one
from tests.tasks.factories import user

pytestmark = pytest.mark.django_db


def assigned_task_process() -> bytes:
    return bpmn("notify", chain('<bpmn:userTask id="t" name="Approve invoice" camunda:assignee="ann"/>'))


def later(minutes: float):
    return timezone.now() + timedelta(minutes=minutes)


def test_the_assignee_gets_an_email_with_a_working_link_through_a_real_smtp_server(smtp, client):
    ann = user("ann", email="ann@example.com")
    instance = process_services.instance_start(definition=deploy_one(assigned_task_process()), business_key="INV-1")
    assert services.deliver_due() == {"delivered": 1}
    (message,) = smtp
    assert message["To"] == "ann@example.com" and "Approve invoice" in message["Subject"]
    text, html = (part.get_payload(decode=True).decode() for part in message.get_payload())
    link = [line for line in text.splitlines() if "/tasks/" in line][0]
    path = link.split("127.0.0.1:8000", 1)[1].strip()
    assert f'href="http://127.0.0.1:8000{path}"' in html and "INV-1" in html
    client.force_login(ann)
    assert client.get(path).status_code == 200
    assert InAppNotification.objects.get(user=ann).title.startswith("Task for you: Approve invoice")
    assert f"/instances/{instance.pk}/" in client.get(path).content.decode()  # the task page links its instance


def test_a_webhook_is_signed_and_the_receiver_verifies_it(receiver):
    subscription, secret = services.subscription_create(
        name="erp", url=receiver["url"], event_types=["workflow.task.assigned"]
    )
    user("ann")
    process_services.instance_start(definition=deploy_one(assigned_task_process()))
    assert services.deliver_due() == {"delivered": 1}
    (request,) = receiver["requests"]
    assert webhooks.verify(secret, request["headers"], request["body"])
    assert not webhooks.verify(secret, request["headers"], request["body"] + b" ")
    event = json.loads(request["body"])
    assert (event["type"], event["version"], event["data"]["assignee"]) == ("workflow.task.assigned", 1, "ann")
    assert request["headers"]["webhook-id"].startswith("msg_")


def test_a_receiver_failing_three_times_gets_the_event_once_it_recovers_with_spaced_retries(receiver):
    services.subscription_create(name="erp", url=receiver["url"], event_types=["workflow.task.assigned"])
    receiver["fail"] = 3
    user("ann")
    process_services.instance_start(definition=deploy_one(assigned_task_process()))
    delivery = Delivery.objects.get(channel="webhook", event_type="workflow.task.assigned")
    delays = []
    for step in range(1, 8):  # sweeps 25 s apart: each finds the delivery due again
        services.deliver_due(now=later(step * 25 / 60))
        after = Delivery.objects.get(pk=delivery.pk)
        if after.status != "pending":
            break
        delays.append((after.next_attempt_at - timezone.now()).total_seconds())
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("delivered", 4)
    assert len({r["headers"]["webhook-id"] for r in receiver["requests"]}) == 1  # the same message id each time
    # each wait is the base (10 s in the fixture) doubled per attempt, with jitter: half to all of it
    assert len(delays) == 3
    for attempt, delay in enumerate(delays, start=1):
        full = 10 * 2 ** (attempt - 1)
        assert 0.5 * full - 1 <= delay <= full, (attempt, delay)
    assert len({round(d, 3) for d in delays}) == 3


def test_a_receiver_that_never_recovers_produces_a_dead_letter_that_replay_delivers(receiver, settings):
    settings.BPM = {**settings.BPM, "DELIVERY_MAX_ATTEMPTS": 3}
    services.subscription_create(name="erp", url=receiver["url"], event_types=["workflow.task.assigned"])
    receiver["fail"] = 100
    user("ann")
    process_services.instance_start(definition=deploy_one(assigned_task_process()))
    for step in range(1, 6):
        services.deliver_due(now=later(step * 10))
    dead = Delivery.objects.get(channel="webhook")
    assert dead.status == "dead" and "HTTP 503" in dead.last_error
    receiver["fail"] = 0
    services.delivery_replay(delivery_id=dead.pk)
    services.deliver_due()
    dead.refresh_from_db()
    assert dead.status == "delivered"


def test_a_private_address_is_refused_at_subscription_time_and_again_at_send_time(receiver, settings):
    settings.BPM = {**settings.BPM, "WEBHOOK_ALLOWED_NETWORKS": []}
    with pytest.raises(ValidationError) as refused:
        services.subscription_create(name="internal", url="http://127.0.0.1:8080/hook")
    assert "private or internal address" in refused.value.message_dict["url"][0]
    for url in ("http://10.0.0.5/x", "http://169.254.169.254/latest", "http://100.64.1.1/"):
        with pytest.raises(ValidationError):
            services.subscription_create(name="x", url=url)
    # a subscription that became unsafe (e.g. its DNS now points inside) is refused when sending
    from bpm import secrets

    WebhookSubscription.objects.create(
        name="sneaky",
        url=receiver["url"],
        event_types=["workflow.task.assigned"],
        secret_encrypted=secrets.encrypt(webhooks.new_secret()),
    )
    user("ann")
    process_services.instance_start(definition=deploy_one(assigned_task_process()))
    services.deliver_due()
    delivery = Delivery.objects.get(channel="webhook")
    assert delivery.status == "dead" and "private or internal address" in delivery.last_error
    assert receiver["requests"] == []


def test_a_410_disables_the_subscription(receiver):
    subscription, _ = services.subscription_create(
        name="erp", url=receiver["url"], event_types=["workflow.task.assigned"]
    )
    receiver["status"] = 410
    user("ann")
    process_services.instance_start(definition=deploy_one(assigned_task_process()))
    assert services.deliver_due() == {"dead": 1}
    subscription.refresh_from_db()
    assert subscription.active is False


def test_the_bell_counts_unread_notifications_and_the_page_marks_them_read(client):
    ann = user("ann")
    process_services.instance_start(definition=deploy_one(assigned_task_process()))
    client.force_login(ann)
    page = client.get("/tasks/").content.decode()
    assert 'id="bell-count">1<' in page
    listing = client.get("/notifications/").content.decode()
    assert "Task for you: Approve invoice" in listing
    client.post("/notifications/read-all/")
    assert InAppNotification.objects.filter(user=ann, read_at__isnull=True).count() == 0


def test_a_slack_subscription_receives_a_chat_message_with_a_link(receiver):
    services.subscription_create(
        name="chat", url=receiver["url"], format="slack", event_types=["workflow.task.assigned"]
    )
    user("ann")
    process_services.instance_start(definition=deploy_one(assigned_task_process()), business_key="INV-9")
    services.deliver_due()
    body = json.loads(receiver["requests"][0]["body"])
    assert body["text"].startswith("Task for you: Approve invoice (INV-9) <http") and "/tasks/" in body["text"]


def test_administrators_manage_subscriptions_and_replay_dead_letters_through_the_api(receiver, admin_user, settings):
    from rest_framework.test import APIClient

    settings.BPM = {**settings.BPM, "DELIVERY_MAX_ATTEMPTS": 1}
    api = APIClient()
    api.force_authenticate(admin_user)
    created = api.post(
        "/api/v1/webhook-subscriptions/",
        {"name": "erp", "url": receiver["url"], "event_types": ["workflow.task.assigned"]},
        format="json",
    )
    assert created.status_code == 201 and created.json()["secret"].startswith("whsec_")
    assert "secret" not in api.get(f"/api/v1/webhook-subscriptions/{created.json()['id']}/").json()
    refused = api.post("/api/v1/webhook-subscriptions/", {"name": "x", "url": "http://10.1.2.3/hook"}, format="json")
    assert refused.status_code == 400 and "url" in refused.json()["errors"]
    receiver["fail"] = 5
    user("ann")
    process_services.instance_start(definition=deploy_one(assigned_task_process()))
    services.deliver_due()
    (dead,) = api.get("/api/v1/dead-letters/").json()["results"]
    receiver["fail"] = 0
    assert api.post(f"/api/v1/dead-letters/{dead['id']}/replay/").status_code == 200
    services.deliver_due()
    assert Delivery.objects.get(pk=dead["id"]).status == "delivered"


def test_other_users_cannot_see_subscriptions(db):
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(user("plain"))
    assert api.get("/api/v1/webhook-subscriptions/").status_code == 403


def test_instance_and_approval_events_reach_webhooks_and_the_initiator(receiver):
    services.subscription_create(name="erp", url=receiver["url"])
    starter = user("sam")
    user("ann")
    instance = process_services.instance_start(definition=deploy_one(assigned_task_process()), user=starter)
    process_services.instance_cancel(instance_id=instance.pk, reason="duplicate")
    services.deliver_due()
    types = {json.loads(r["body"])["type"] for r in receiver["requests"]}
    assert types == {
        "workflow.instance.started",
        "workflow.step.completed",  # the start event
        "workflow.task.created",
        "workflow.task.assigned",
        "workflow.instance.cancelled",
    }


def test_a_person_who_turns_email_off_for_assignments_gets_only_the_in_app_notification(client):
    ann = user("ann", email="ann@example.com")
    client.force_login(ann)
    client.post("/notifications/preferences/", {"workflow.task.assigned:in_app": "on"})
    process_services.instance_start(definition=deploy_one(assigned_task_process()))
    assert not Delivery.objects.filter(channel="email").exists()
    assert InAppNotification.objects.filter(user=ann).count() == 1
    page = client.get("/notifications/preferences/").content.decode()
    assert 'name="workflow.task.assigned:email">' in page and 'name="workflow.task.assigned:in_app" checked' in page


def test_an_owner_following_a_process_hears_about_its_incidents(client, settings):
    from processes import jobs

    settings.BPM = {**settings.BPM, "JOB_RETRY_BASE_SECONDS": 0}
    owner = user("olga", email="olga@example.com")
    definition = deploy_one(
        bpmn(
            "fragile",
            chain(
                '<bpmn:intermediateCatchEvent id="wait"><bpmn:timerEventDefinition><bpmn:timeDuration>PT1M'
                "</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>",
                '<bpmn:scriptTask id="boom"><bpmn:script>x = 1 / 0</bpmn:script></bpmn:scriptTask>',
            ),
        )
    )
    from guardian.shortcuts import assign_perm

    assign_perm("processes.own_process", owner, definition)
    client.force_login(owner)
    client.post(f"/processes/definitions/{definition.pk}/follow/", {"follow": "1"})
    instance = process_services.instance_start(definition=definition, business_key="F-1")
    for _ in range(3):
        jobs.run_due_jobs(now=timezone.now() + timedelta(minutes=5))
    note = InAppNotification.objects.get(user=owner)
    assert "fragile (F-1)" in note.title and note.link == f"/processes/instances/{instance.pk}/"
    assert Delivery.objects.filter(channel="email", user=owner, event_type="workflow.incident.raised").exists()
