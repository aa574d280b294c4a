"""The outbox's lease (issue 14.1): a delivery whose sender died mid-send is sent late, never
lost; one whose sender dies every time ends as a visible, replayable dead letter; a slow
sender keeps its delivery while it works."""

import threading
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from notifications import services
from notifications.models import Delivery
from processes import services as process_services
from tests.processes.factories import bpmn, chain, deploy_one
from tests.tasks.factories import user

pytestmark = pytest.mark.django_db


def one_delivery(receiver) -> Delivery:
    services.subscription_create(name="erp", url=receiver["url"], event_types=["workflow.task.assigned"])
    user("ann")
    process_services.instance_start(
        definition=deploy_one(bpmn("lease", chain('<bpmn:userTask id="t" camunda:assignee="ann"/>')))
    )
    return Delivery.objects.get(channel="webhook")


def test_a_delivery_whose_sender_died_mid_send_is_sent_by_a_later_sweep(receiver, settings):
    delivery = one_delivery(receiver)
    taken_at = timezone.now()
    _, ids = services.deliveries_acquire(now=taken_at)  # the sender dies here, before sending
    assert ids == [delivery.pk]
    delivery.refresh_from_db()
    assert delivery.status == "sending" and delivery.attempts == 1
    assert services.deliver_due(now=taken_at + timedelta(seconds=1)) == {}  # its lease still holds
    lease = settings.BPM["DELIVERY_LEASE_SECONDS"]
    assert services.deliver_due(now=taken_at + timedelta(seconds=lease + 1)) == {"delivered": 1}
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("delivered", 2)
    assert len(receiver["requests"]) == 1
    assert receiver["requests"][0]["headers"]["webhook-id"] == f"msg_{delivery.message_id.hex}"


def test_a_delivery_whose_sender_dies_every_time_becomes_a_dead_letter_that_replay_sends(receiver, settings):
    settings.BPM = {**settings.BPM, "DELIVERY_MAX_ATTEMPTS": 3}
    delivery = one_delivery(receiver)
    lease = settings.BPM["DELIVERY_LEASE_SECONDS"]
    moment = timezone.now()
    for _ in range(3):  # three senders die in turn
        assert services.deliveries_acquire(now=moment)[1] == [delivery.pk]
        moment += timedelta(seconds=lease + 1)
    assert services.deliveries_acquire(now=moment)[1] == []
    delivery.refresh_from_db()
    assert delivery.status == "dead" and "stopped while sending" in delivery.last_error
    assert services.dead_letters_replay_all() == 1
    assert services.deliver_due() == {"delivered": 1}


@pytest.mark.django_db(transaction=True)
def test_a_slow_sender_keeps_its_delivery_while_it_sends(receiver, settings):
    settings.BPM = {**settings.BPM, "DELIVERY_LEASE_SECONDS": 1}
    receiver["delay"] = 2.5
    delivery = one_delivery(receiver)
    sender = threading.Thread(target=services.deliver_due)
    sender.start()
    time.sleep(1.8)  # past the first lease: only the heartbeat keeps it
    assert services.deliveries_acquire()[1] == []
    sender.join()
    delivery.refresh_from_db()
    assert delivery.status == "delivered" and delivery.attempts == 1
    assert len(receiver["requests"]) == 1
