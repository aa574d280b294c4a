"""History retention: camunda:historyTimeToLive (or the default) removes ended instances with
everything they hold, in batches, in a daily window; approval decisions may outlive them."""

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from processes import services
from processes.engine.bpmn.metadata import history_ttl_days
from processes.exceptions import DefinitionInvalidError
from processes.jobs import run_due_jobs
from processes.models import HistoryEvent, ProcessDefinition, ProcessInstance
from processes.services import retention
from tasks.models import HumanTask

from .factories import bpmn, chain, deploy_one

pytestmark = pytest.mark.django_db


def _process(ttl: str | None, key: str = "kept") -> bytes:
    doc = bpmn(key, chain('<bpmn:userTask id="check"/>'))
    if ttl is not None:
        doc = doc.replace(
            f'<bpmn:process id="{key}"'.encode(), f'<bpmn:process id="{key}" camunda:historyTimeToLive="{ttl}"'.encode()
        )
    return doc


def _ended(definition, days_ago: int) -> ProcessInstance:
    instance = services.instance_start(definition=definition)
    services.instance_cancel(instance_id=instance.pk, reason="done with")
    ProcessInstance.objects.filter(pk=instance.pk).update(ended_at=timezone.now() - timedelta(days=days_ago))
    return instance


@pytest.mark.parametrize(("text", "days"), [("30", 30), ("P30D", 30), (" 7 ", 7), ("", None), ("PT5H", None)])
def test_the_time_to_live_reads_days_as_camunda_writes_them(text, days):
    assert history_ttl_days(text) == days


def test_a_time_to_live_that_is_no_number_of_days_is_refused_at_deploy():
    with pytest.raises(DefinitionInvalidError) as refused:
        deploy_one(_process("a month"))
    [problem] = refused.value.details
    assert problem["element_id"] == "kept" and "historyTimeToLive" in problem["message"]


def test_ended_instances_past_their_time_to_live_are_removed_with_their_rows():
    definition = deploy_one(_process("30"))
    assert definition.history_ttl_days == 30
    old, recent = _ended(definition, 31), _ended(definition, 29)
    running = services.instance_start(definition=definition)
    result = retention.history_cleanup()
    assert result.instances == 1 and result.rows["processes.HistoryEvent"] > 0
    assert set(ProcessInstance.objects.values_list("pk", flat=True)) == {recent.pk, running.pk}
    assert not HistoryEvent.objects.filter(instance_id=old.pk).exists()
    assert not HumanTask.objects.filter(instance_id=old.pk).exists()


def test_without_a_time_to_live_the_default_applies_and_none_keeps_for_ever(settings):
    definition = deploy_one(_process(None))
    ancient = _ended(definition, 3650)
    assert retention.history_cleanup().instances == 0
    settings.BPM = {**settings.BPM, "HISTORY_TTL_DAYS": 90}
    assert retention.history_cleanup().instances == 1
    assert not ProcessInstance.objects.filter(pk=ancient.pk).exists()


def test_the_cleanup_works_in_batches_until_nothing_is_left():
    definition = deploy_one(_process("1"))
    for _ in range(5):
        _ended(definition, 2)
    assert retention.history_cleanup(batch_size=2).instances == 5
    assert not ProcessInstance.objects.exists()


@pytest.mark.parametrize(
    ("window", "hour", "inside"),
    [
        ("01:00-05:00", 3, True),
        ("01:00-05:00", 6, False),
        ("22:00-04:00", 23, True),
        ("22:00-04:00", 12, False),
        ("", 3, False),
    ],
)
def test_the_cleanup_runs_only_inside_its_daily_window(settings, window, hour, inside):
    settings.BPM = {**settings.BPM, "HISTORY_CLEANUP_WINDOW": window}
    moment = timezone.make_aware(datetime(2026, 11, 30, hour, 30))
    assert retention.in_cleanup_window(moment) is inside


def test_an_owner_sets_a_versions_time_to_live_on_its_page_and_the_apis(client, admin_user):
    definition = deploy_one(_process(None))
    client.force_login(admin_user)
    page = client.get(f"/processes/definitions/{definition.pk}/")
    assert b'id="history-ttl"' in page.content
    client.post(f"/processes/definitions/{definition.pk}/history-ttl/", {"days": "14"})
    definition.refresh_from_db()
    assert definition.history_ttl_days == 14
    ended = _ended(definition, 15)
    assert retention.history_cleanup().instances == 1 and not ProcessInstance.objects.filter(pk=ended.pk).exists()
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(admin_user)
    assert (
        api.post(f"/api/v1/definitions/{definition.pk}/history-ttl/", {"days": None}, format="json").json()[
            "history_ttl_days"
        ]
        is None
    )
    body = {"historyTimeToLive": 7}
    assert (
        api.put(
            f"/engine-rest/process-definition/{definition.pk}/history-time-to-live", body, format="json"
        ).status_code
        == 204
    )
    assert api.get(f"/engine-rest/process-definition/{definition.pk}").json()["historyTimeToLive"] == 7
    assert api.post(f"/api/v1/definitions/{definition.pk}/history-ttl/", {"days": -1}, format="json").status_code == 400


def test_an_owner_suspends_a_version_from_its_page(client, admin_user):
    definition = deploy_one(_process(None))
    client.force_login(admin_user)
    client.post(f"/processes/definitions/{definition.pk}/suspension/", {"suspend": "1"})
    definition.refresh_from_db()
    assert definition.is_suspended
    assert b'id="resume-definition"' in client.get(f"/processes/definitions/{definition.pk}/").content


def test_a_time_to_live_beyond_any_use_is_refused_not_a_server_error(client, admin_user):
    with pytest.raises(DefinitionInvalidError):
        deploy_one(_process("99999999999"))
    definition = deploy_one(_process(None))
    client.force_login(admin_user)
    response = client.post(f"/processes/definitions/{definition.pk}/history-ttl/", {"days": "99999999999"}, follow=True)
    assert response.status_code == 200 and b"0 to 100000" in response.content
    definition.refresh_from_db()
    assert definition.history_ttl_days is None


def test_a_scheduled_cleanup_job_cleans_outside_the_window(settings):
    settings.BPM = {**settings.BPM, "HISTORY_CLEANUP_WINDOW": ""}
    definition = deploy_one(bpmn("brief", chain(), extra=""))
    ProcessDefinition.objects.filter(pk=definition.pk).update(history_ttl_days=1)
    instance = services.instance_start(definition=definition)
    ProcessInstance.objects.filter(pk=instance.pk).update(ended_at=timezone.now() - timedelta(days=2))
    job = retention.history_cleanup_schedule()
    assert run_due_jobs() == 1
    job.refresh_from_db()
    assert job.status == "done" and not ProcessInstance.objects.filter(pk=instance.pk).exists()


def test_a_cleanup_job_not_immediately_due_waits_for_the_window(settings):
    settings.BPM = {**settings.BPM, "HISTORY_CLEANUP_WINDOW": "01:00-05:00"}
    now = timezone.make_aware(datetime(2026, 11, 30, 12, 0))
    job = retention.history_cleanup_schedule(immediately_due=False, now=now)
    assert timezone.localtime(job.due_at).hour == 1 and job.due_at > now
