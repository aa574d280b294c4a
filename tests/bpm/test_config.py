"""Configuration cached per process and checked against the token read inside each command."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from notifications.models import Delivery, WebhookSubscription
from processes import services
from tests.processes.factories import bpmn, chain, deploy_one

pytestmark = pytest.mark.django_db

TASK = bpmn("cfg", chain('<bpmn:userTask id="t"/>'))


def _subscribe(**fields) -> WebhookSubscription:
    return WebhookSubscription.objects.create(
        name="hook", url="https://hooks.example/x", event_types=["workflow.instance.started"], **fields
    )


def _started_deliveries() -> int:
    return Delivery.objects.filter(event_type="workflow.instance.started").count()


def test_a_subscription_added_after_the_cache_was_filled_hears_the_next_start():
    definition = deploy_one(TASK)
    services.instance_start(definition=definition)  # fills the cache: no subscriptions
    _subscribe()
    services.instance_start(definition=definition)
    assert _started_deliveries() == 1


def test_a_subscription_switched_off_in_another_process_is_no_longer_used():
    definition = deploy_one(TASK)
    subscription = _subscribe()
    services.instance_start(definition=definition)
    # another process: a plain UPDATE and its own token change, no signal in this one
    WebhookSubscription.objects.filter(pk=subscription.pk).update(active=False)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE bpm_configversion SET token = token + 1 WHERE id = 1")
    services.instance_start(definition=definition)
    assert _started_deliveries() == 1


def test_an_unchanged_configuration_is_not_read_again():
    definition = deploy_one(TASK)
    services.instance_start(definition=definition)
    with CaptureQueriesContext(connection) as captured:
        services.instance_start(definition=definition)
    assert not [q for q in captured.captured_queries if "notifications_webhooksubscription" in q["sql"]]


def test_without_the_token_row_the_configuration_is_read_each_time():
    definition = deploy_one(TASK)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM bpm_configversion")
    services.instance_start(definition=definition)
    with CaptureQueriesContext(connection) as captured:
        services.instance_start(definition=definition)
    assert [q for q in captured.captured_queries if "notifications_webhooksubscription" in q["sql"]]


def test_a_change_brings_the_token_row_back():
    from bpm import config

    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM bpm_configversion")
    _subscribe()
    assert config.read_token() is not None


def test_a_default_due_period_set_after_the_cache_was_filled_dates_the_next_task():
    from processes.models import ProcessSettings
    from tasks.models import HumanTask

    definition = deploy_one(TASK)
    services.instance_start(definition=definition)
    ProcessSettings.objects.create(key="cfg", default_task_due="P2D")
    instance = services.instance_start(definition=definition)
    assert HumanTask.objects.get(instance=instance).due_at is not None


def test_a_preference_changed_after_the_cache_was_filled_is_honoured():
    from django.contrib.auth import get_user_model

    from notifications.models import InAppNotification
    from notifications.services import preferences_save

    starter = get_user_model().objects.create_user("starter")
    definition = deploy_one(TASK)

    def complete_one() -> None:
        instance = services.instance_start(definition=definition, user=starter)
        step = instance.waiting_steps.all()[0]
        services.instance_complete_step(instance_id=instance.pk, spiff_task_id=str(step.spiff_task_id), user=starter)

    complete_one()  # in-app by default: one notification, the preferences cached
    preferences_save(user=starter, choices={"workflow.instance.completed": {"email": False, "in_app": False}})
    complete_one()
    assert InAppNotification.objects.filter(user=starter, event_type="workflow.instance.completed").count() == 1
