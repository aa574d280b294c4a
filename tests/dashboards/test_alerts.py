"""Alert rules: one notification when a figure passes its threshold, one when it clears."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from guardian.shortcuts import assign_perm

from dashboards import services
from dashboards.models import AlertRule
from notifications.models import InAppNotification
from processes.models import ProcessInstance
from tasks.models import HumanTask
from tests.dashboards.test_figures import history  # noqa: F401 - fixture
from tests.tasks.factories import user

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner(history):  # noqa: F811
    person = user("olga")
    assign_perm("processes.own_process", person, history)
    return person


def test_an_alert_is_raised_once_while_the_figure_stays_above_and_cleared_once(owner):
    rule = services.alert_rule_create(user=owner, process_key="sla", metric="overdue_tasks", threshold=0)
    assert services.alerts_evaluate()["raised"] == 1
    assert services.alerts_evaluate()["raised"] == 0  # still above: no second notice
    HumanTask.objects.filter(process_key="sla", due_at__lt=timezone.now()).update(
        due_at=timezone.now() + timedelta(days=1)
    )
    assert services.alerts_evaluate()["cleared"] == 1
    titles = list(InAppNotification.objects.filter(user=owner).order_by("id").values_list("event_type", "title"))
    assert titles == [
        ("workflow.alert.raised", "Alert: Overdue tasks of sla is 1 (threshold 0)"),
        ("workflow.alert.cleared", "Cleared: Overdue tasks of sla is back to 0"),
    ]
    rule.refresh_from_db()
    assert (rule.breached, rule.last_value) == (False, 0.0)


def test_the_failure_rate_is_failed_over_started_in_the_window(owner):
    rule = services.alert_rule_create(user=owner, process_key="sla", metric="failure_rate", threshold=0.1)
    assert services.metric_value(rule) == pytest.approx(1 / 9)
    assert services.alerts_evaluate()["raised"] == 1
    ProcessInstance.objects.filter(process_key="sla", status="error").update(status="cancelled")
    assert services.alerts_evaluate()["cleared"] == 1


def test_only_an_owner_may_set_an_alert_on_a_process(history):  # noqa: F811
    with pytest.raises(ValidationError) as error:
        services.alert_rule_create(user=user("sam"), process_key="sla", metric="overdue_tasks", threshold=1)
    assert "process_key" in error.value.message_dict


def test_an_owner_adds_an_alert_from_the_process_page(client, owner):
    client.force_login(owner)
    client.post(
        "/dashboards/processes/sla/alerts/", {"metric": "p95_cycle_time", "threshold": "36000", "window_days": "30"}
    )
    rule = AlertRule.objects.get()
    assert (rule.metric, rule.threshold, rule.window_days, rule.owner) == ("p95_cycle_time", 36000.0, 30, owner)
    assert "p95 cycle time" in client.get("/dashboards/processes/sla/").content.decode()
