"""The integration contract: idempotent retries, unique business keys, message ids
correlated once, suspend and resume, variables, health and metrics."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from integrations.models import Heartbeat
from processes import jobs, services
from processes.models import Job, ProcessInstance
from tests.processes.factories import bpmn, chain, deploy_one

pytestmark = pytest.mark.django_db

REVIEW = bpmn("review", chain('<bpmn:userTask id="check" name="Review"/>'))
WAIT_FOR_GOODS = bpmn(
    "goods",
    chain(
        '<bpmn:intermediateCatchEvent id="wait"><bpmn:messageEventDefinition messageRef="m"/></bpmn:intermediateCatchEvent>'
    ),
    extra='<bpmn:message id="m" name="goods_received"/>',
)
TIMER = bpmn(
    "timed",
    chain(
        '<bpmn:intermediateCatchEvent id="pause"><bpmn:timerEventDefinition>'
        "<bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>"
    ),
)


@pytest.fixture
def api(admin_user):
    client = APIClient()
    client.force_authenticate(admin_user)
    return client


def start(api, key="review", business_key="", headers=None, **variables):
    return api.post(
        "/api/v1/instances/",
        {"definition_key": key, "business_key": business_key, "variables": variables},
        format="json",
        **(headers or {}),
    )


def test_a_retry_with_the_same_idempotency_key_returns_the_first_response_and_starts_nothing(api):
    deploy_one(REVIEW)
    first = start(api, headers={"HTTP_IDEMPOTENCY_KEY": "po-1"}, amount=5)
    again = start(api, headers={"HTTP_IDEMPOTENCY_KEY": "po-1"}, amount=5)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert ProcessInstance.objects.count() == 1


def test_the_same_idempotency_key_with_another_payload_is_a_422(api):
    deploy_one(REVIEW)
    start(api, headers={"HTTP_IDEMPOTENCY_KEY": "po-2"}, amount=5)
    other = start(api, headers={"HTTP_IDEMPOTENCY_KEY": "po-2"}, amount=6)
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
    assert ProcessInstance.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_retry_while_the_first_request_runs_is_a_409(admin_user, monkeypatch):
    deploy_one(REVIEW)
    real_start = services.instance_start
    entered, release = threading.Event(), threading.Event()

    def slow_start(**kwargs):  # the first request is still running when the retry comes
        entered.set()
        assert release.wait(timeout=30)
        return real_start(**kwargs)

    monkeypatch.setattr(services, "instance_start", slow_start)
    answers = {}

    def first():
        client = APIClient()
        client.force_authenticate(admin_user)
        answers["first"] = start(client, headers={"HTTP_IDEMPOTENCY_KEY": "po-3"})
        connection.close()

    runner = threading.Thread(target=first)
    runner.start()
    assert entered.wait(timeout=30)
    retry = APIClient()
    retry.force_authenticate(admin_user)
    during = start(retry, headers={"HTTP_IDEMPOTENCY_KEY": "po-3"})
    release.set()
    runner.join()
    after = start(retry, headers={"HTTP_IDEMPOTENCY_KEY": "po-3"})
    assert during.status_code == 409 and during.json()["code"] == "idempotency_key_in_use"
    assert answers["first"].status_code == 201
    assert after.status_code == 201 and after.json()["id"] == answers["first"].json()["id"]
    assert after["Idempotent-Replayed"] == "true"
    assert ProcessInstance.objects.count() == 1


def test_a_failed_request_frees_its_idempotency_key(api):
    missing = start(api, key="later", headers={"HTTP_IDEMPOTENCY_KEY": "k"})
    assert missing.status_code == 404
    deploy_one(bpmn("later", chain('<bpmn:userTask id="t"/>')))
    assert start(api, key="later", headers={"HTTP_IDEMPOTENCY_KEY": "k"}).status_code == 201


def test_a_completed_task_retried_with_its_key_completes_once(api, admin_user):
    deploy_one(REVIEW)
    instance = start(api).json()
    task_id = api.get("/api/v1/tasks/", {"view": "all"}).json()["results"][0]["id"]
    headers = {"HTTP_IDEMPOTENCY_KEY": "done-1"}
    first = api.post(f"/api/v1/tasks/{task_id}/complete/", {"data": {"ok": True}}, format="json", **headers)
    again = api.post(f"/api/v1/tasks/{task_id}/complete/", {"data": {"ok": True}}, format="json", **headers)
    assert first.status_code == again.status_code == 200
    assert (
        ProcessInstance.objects.get(pk=instance["id"]).history.filter(kind="step_completed", element_id="check").count()
        == 1
    )


def test_a_business_key_is_unique_among_a_processs_open_instances(api):
    deploy_one(REVIEW)
    assert start(api, business_key="PO-1").status_code == 201
    duplicate = start(api, business_key="PO-1")
    assert duplicate.status_code == 409 and "business_key" in duplicate.json()["errors"]


def test_a_business_key_is_free_again_once_its_instance_ended(api):
    deploy_one(REVIEW)
    first = start(api, business_key="PO-1").json()
    api.post(f"/api/v1/instances/{first['id']}/cancel/", {"reason": "typo"}, format="json")
    assert start(api, business_key="PO-1").status_code == 201


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_starts_with_one_business_key_make_one_instance():
    definition = deploy_one(REVIEW)
    outcomes = []
    racers = 20
    barrier = threading.Barrier(racers)

    def start_one():
        barrier.wait()
        try:
            services.instance_start(definition=definition, business_key="RACE")
            outcomes.append("started")
        except Exception as exc:  # noqa: BLE001 - the loser's error is the point
            outcomes.append(type(exc).__name__)
        finally:
            connection.close()

    threads = [threading.Thread(target=start_one) for _ in range(racers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["DuplicateBusinessKey"] * (racers - 1) + ["started"]
    assert ProcessInstance.objects.filter(business_key="RACE").count() == 1


def test_a_message_id_is_correlated_at_most_once(api):
    deploy_one(WAIT_FOR_GOODS)
    start(api, key="goods", business_key="PO-7")
    start(api, key="goods", business_key="PO-8")
    body = {"message_name": "goods_received", "business_key": "PO-7", "message_id": "grn-1"}
    assert api.post("/api/v1/messages/", body, format="json").status_code == 200
    again = api.post("/api/v1/messages/", {**body, "business_key": "PO-8"}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "message_already_correlated"
    assert ProcessInstance.objects.get(business_key="PO-8").status == "running"


def test_a_suspended_instance_refuses_its_steps_and_parks_its_timer_until_resumed(api):
    deploy_one(TIMER)
    instance = start(api, key="timed").json()
    assert (
        api.post(f"/api/v1/instances/{instance['id']}/suspend/", {"reason": "audit"}, format="json").json()["status"]
        == "suspended"
    )
    jobs.run_due_jobs(now=timezone.now() + timedelta(hours=2))
    assert ProcessInstance.objects.get(pk=instance["id"]).status == "suspended"
    assert Job.objects.get(instance_id=instance["id"]).status == "suspended"
    assert api.post(f"/api/v1/instances/{instance['id']}/resume/").json()["status"] == "running"
    jobs.run_due_jobs(now=timezone.now() + timedelta(hours=2))
    assert ProcessInstance.objects.get(pk=instance["id"]).status == "completed"


def test_completing_a_step_of_a_suspended_instance_is_a_409(api):
    deploy_one(REVIEW)
    instance = start(api).json()
    step = instance["waiting"][0]["spiff_task_id"]
    api.post(f"/api/v1/instances/{instance['id']}/suspend/", {}, format="json")
    response = api.post(f"/api/v1/instances/{instance['id']}/steps/{step}/complete/", {"data": {}}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "instance_suspended"


def test_variables_of_an_open_instance_change_and_the_history_says_so(api):
    deploy_one(REVIEW)
    instance = start(api, amount=5, note="x").json()
    response = api.patch(
        f"/api/v1/instances/{instance['id']}/variables/",
        {"variables": {"amount": 7}, "remove": ["note"]},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["variables"]["amount"] == 7 and "note" not in response.json()["variables"]
    change = ProcessInstance.objects.get(pk=instance["id"]).history.get(kind="variables_changed").data
    assert change == {"changed": {"amount": 7}, "removed": ["note"]}


def test_instances_are_filtered_by_a_variable(api):
    deploy_one(REVIEW)
    start(api, amount=5)
    seven = start(api, amount=7).json()["id"]
    listed = api.get("/api/v1/instances/", {"variable": "amount:7"}).json()["results"]
    assert [i["id"] for i in listed] == [seven]
    assert api.get("/api/v1/instances/", {"variable": "no-colon"}).status_code == 400


def test_health_reports_each_part_and_is_503_without_a_recent_worker_tick(client, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:6379/15"  # the real broker the suite runs with
    stale = client.get("/api/v1/health")
    assert stale.status_code == 503 and stale.json()["down"] == ["worker"]
    Heartbeat.objects.create(name="job-tick", seen_at=timezone.now())
    healthy = client.get("/api/v1/health")
    assert healthy.status_code == 200 and healthy.json()["down"] == []
    assert {k: v["status"] for k, v in healthy.json()["checks"].items()} == {
        "database": "ok",
        "broker": "ok",
        "worker": "ok",
    }


def test_health_names_a_broker_that_is_really_down(client, settings):
    import socket

    with socket.socket() as probe:  # a port where nothing listens: a broker that is down
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{port}/0"
    Heartbeat.objects.create(name="job-tick", seen_at=timezone.now())
    response = client.get("/api/v1/health")
    assert response.status_code == 503
    assert response.json()["down"] == ["broker"]
    assert response.json()["checks"]["broker"]["status"] == "down" and response.json()["checks"]["broker"]["error"]


def test_metrics_count_instances_tasks_and_jobs_in_prometheus_format(client, settings):
    deploy_one(REVIEW)
    services.instance_start(definition=deploy_one(REVIEW))
    text = client.get("/metrics").content.decode()
    assert 'bpm_instances{status="running"} 1.0' in text
    assert "bpm_tasks_open 1.0" in text and "bpm_job_lag_seconds 0.0" in text
    settings.BPM = {**settings.BPM, "METRICS_TOKEN": "s3cret"}
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret").status_code == 200


def test_a_date_filter_with_an_offset_postgresql_refuses_is_converted_not_a_500(api):
    ok = api.get("/api/v1/instances/", {"started_before": "1599-05-22T09:32:02+22:32"})
    assert ok.status_code == 200
    underflow = api.get("/api/v1/instances/", {"started_after": "0001-01-01T00:10:00+05:00"})
    assert underflow.status_code == 400 and "started_after" in underflow.json()["errors"]
