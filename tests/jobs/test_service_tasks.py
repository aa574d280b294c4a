"""Service tasks: the connector call runs as a job outside the instance's transaction,
retries with backoff, raises an incident when retries run out, and can be retried."""

import json
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone

from processes import jobs, services
from processes.models import Incident, Job
from tests.processes.factories import bpmn, deploy_one

pytestmark = pytest.mark.django_db


class Receiver:
    """A local HTTP server that fails the first ``failures`` calls, then answers with JSON."""

    def __init__(self, failures: int = 0):
        self.failures = failures
        self.delay = 0.0  # seconds before answering (a slow service)
        self.calls: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                time.sleep(receiver.delay)
                receiver.calls.append(
                    {"path": self.path, "body": json.loads(body or b"null"), "headers": dict(self.headers)}
                )
                if len(receiver.calls) <= receiver.failures:
                    self.send_response(503)
                    self.end_headers()
                    return
                payload = json.dumps({"price": 42, "currency": "EUR"}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


@pytest.fixture
def receiver():
    servers = []

    def make(failures=0):
        server = Receiver(failures)
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.close()


def quote_process(url: str, retries: int = 3) -> bytes:
    task = f"""<bpmn:serviceTask id="get_quote" name="Get quote">
  <bpmn:extensionElements>
    <camunda:connector>
      <camunda:inputOutput>
        <camunda:inputParameter name="url">{url}/quotes</camunda:inputParameter>
        <camunda:inputParameter name="method">POST</camunda:inputParameter>
        <camunda:inputParameter name="headers"><camunda:map><camunda:entry key="X-Order">${{order}}</camunda:entry><camunda:entry key="Content-Type">application/json</camunda:entry></camunda:map></camunda:inputParameter>
        <camunda:inputParameter name="payload">{{"item": "${{item}}"}}</camunda:inputParameter>
        <camunda:outputParameter name="price">${{response.price}}</camunda:outputParameter>
        <camunda:outputParameter name="status_code">${{statusCode}}</camunda:outputParameter>
      </camunda:inputOutput>
      <camunda:connectorId>http-connector</camunda:connectorId>
    </camunda:connector>
    <camunda:failedJobRetryTimeCycle>R{retries}/PT1M</camunda:failedJobRetryTimeCycle>
  </bpmn:extensionElements>
</bpmn:serviceTask>"""
    body = (
        '<bpmn:startEvent id="start"/>' + task + '<bpmn:endEvent id="end"/>'
        '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="get_quote"/><bpmn:sequenceFlow id="f2" sourceRef="get_quote" targetRef="end"/>'
    )
    return bpmn("quote", body)


def run_jobs_until_idle(rounds: int = 10):
    """Run due jobs repeatedly, jumping the clock past each retry delay."""
    for step in range(rounds):
        jobs.run_due_jobs(now=timezone.now() + timedelta(minutes=15 * (step + 1)))


def test_a_service_task_waits_for_its_job_and_completes_with_the_mapped_response(receiver):
    server = receiver()
    instance = services.instance_start(
        definition=deploy_one(quote_process(server.url)), variables={"item": "desk", "order": "A-1"}
    )
    assert instance.status == "running" and instance.waiting_steps.get().kind == "service"
    assert server.calls == []  # nothing is called inside the instance's transaction
    run_jobs_until_idle(1)
    instance.refresh_from_db()
    assert instance.status == "completed"
    assert (instance.variables["price"], instance.variables["status_code"]) == (42, 200)
    assert server.calls[0]["body"] == {"item": "desk"} and server.calls[0]["headers"]["X-Order"] == "A-1"


def test_a_service_that_fails_twice_then_succeeds_completes_after_two_retries(receiver):
    server = receiver(failures=2)
    instance = services.instance_start(
        definition=deploy_one(quote_process(server.url)), variables={"item": "x", "order": "B"}
    )
    run_jobs_until_idle()
    instance.refresh_from_db()
    assert instance.status == "completed"
    assert len(server.calls) == 3
    job = Job.objects.get(instance=instance)
    assert (job.status, job.attempts) == ("done", 3)
    assert not Incident.objects.exists()


def test_a_service_that_always_fails_raises_an_incident_and_retry_completes_after_the_fix(receiver):
    server = receiver(failures=100)
    instance = services.instance_start(
        definition=deploy_one(quote_process(server.url, retries=2)), variables={"item": "x", "order": "C"}
    )
    run_jobs_until_idle()
    assert len(server.calls) == 3  # the first try and two retries
    incident = Incident.objects.get(instance=instance)
    assert "HTTP 503" in incident.message and incident.is_open
    assert instance.history.filter(kind="incident_raised").exists()
    server.failures = 0  # the other system is fixed
    services.incident_retry(incident_id=incident.pk)
    run_jobs_until_idle(1)
    instance.refresh_from_db()
    assert instance.status == "completed" and instance.variables["price"] == 42
    incident.refresh_from_db()
    assert not incident.is_open


def test_a_service_task_without_any_implementation_completes_at_once():
    # a Java implementation waits instead (tests/semantics/test_service_tasks.py)
    body = (
        '<bpmn:startEvent id="start" camunda:asyncBefore="false"/><bpmn:serviceTask id="java"/><bpmn:endEvent id="end"/>'
        '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="java"/><bpmn:sequenceFlow id="f2" sourceRef="java" targetRef="end"/>'
    )
    instance = services.instance_start(definition=deploy_one(bpmn("java_delegate", body)))
    assert instance.status == "completed"


def test_incidents_are_listed_on_the_instance_page_and_in_the_api_and_retried(receiver, client, admin_user):
    from django.urls import reverse
    from rest_framework.test import APIClient

    server = receiver(failures=100)
    instance = services.instance_start(
        definition=deploy_one(quote_process(server.url, retries=0)), variables={"item": "x", "order": "D"}
    )
    run_jobs_until_idle(2)
    incident = Incident.objects.get(instance=instance)
    client.force_login(admin_user)
    page = client.get(reverse("processes:instance-detail", args=[instance.pk])).content.decode()
    assert "HTTP 503" in page and "Retry" in page
    api = APIClient()
    api.force_authenticate(admin_user)
    assert api.get("/api/v1/incidents/?open=1").json()["results"][0]["id"] == incident.pk
    server.failures = 0
    assert api.post(f"/api/v1/incidents/{incident.pk}/retry/").status_code == 200
    assert api.post(f"/api/v1/incidents/{incident.pk}/retry/").status_code == 409
    run_jobs_until_idle(1)
    instance.refresh_from_db()
    assert instance.status == "completed"


@pytest.fixture(autouse=True)
def _fresh_breaker():
    from processes.connectors import BREAKER

    BREAKER.reset()
    yield
    BREAKER.reset()


def test_the_circuit_breaker_stops_calling_a_host_that_keeps_failing(receiver, settings):
    from processes.connectors import ConnectorError, http_connector

    settings.BPM = {**settings.BPM, "BREAKER_FAILURES": 3, "BREAKER_SECONDS": 60}
    server = receiver(failures=100)
    for _ in range(3):
        with pytest.raises(ConnectorError, match="HTTP 503"):
            http_connector({"url": server.url + "/quotes", "method": "POST", "payload": "{}"})
    with pytest.raises(ConnectorError, match="circuit open"):
        http_connector({"url": server.url + "/quotes", "method": "POST", "payload": "{}"})
    assert len(server.calls) == 3


def test_the_mail_and_set_variables_connectors(mailoutbox):
    body = """<bpmn:startEvent id="start"/>
<bpmn:serviceTask id="set"><bpmn:extensionElements><camunda:connector><camunda:inputOutput>
  <camunda:inputParameter name="greeting">Hello ${name}</camunda:inputParameter>
</camunda:inputOutput><camunda:connectorId>set-variables</camunda:connectorId></camunda:connector></bpmn:extensionElements></bpmn:serviceTask>
<bpmn:serviceTask id="mail"><bpmn:extensionElements><camunda:connector><camunda:inputOutput>
  <camunda:inputParameter name="to">${email}</camunda:inputParameter>
  <camunda:inputParameter name="subject">Welcome</camunda:inputParameter>
  <camunda:inputParameter name="text">${greeting}</camunda:inputParameter>
</camunda:inputOutput><camunda:connectorId>mail-send</camunda:connectorId></camunda:connector></bpmn:extensionElements></bpmn:serviceTask>
<bpmn:endEvent id="end"/>
<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="set"/><bpmn:sequenceFlow id="f2" sourceRef="set" targetRef="mail"/>
<bpmn:sequenceFlow id="f3" sourceRef="mail" targetRef="end"/>"""
    instance = services.instance_start(
        definition=deploy_one(bpmn("welcome", body)), variables={"name": "Ada", "email": "ada@example.com"}
    )
    run_jobs_until_idle(3)
    instance.refresh_from_db()
    assert instance.status == "completed" and instance.variables["greeting"] == "Hello Ada"
    assert mailoutbox[0].to == ["ada@example.com"] and mailoutbox[0].body == "Hello Ada"


def test_a_mapped_http_status_throws_a_bpmn_error_caught_by_the_boundary_event(receiver):
    server = receiver(failures=100)  # always 503
    body = f"""<bpmn:startEvent id="start"/>
<bpmn:serviceTask id="lookup"><bpmn:extensionElements>
  <camunda:properties><camunda:property name="error.503" value="UNAVAILABLE"/></camunda:properties>
  <camunda:connector><camunda:inputOutput>
    <camunda:inputParameter name="url">{server.url}/lookup</camunda:inputParameter>
    <camunda:inputParameter name="method">POST</camunda:inputParameter>
  </camunda:inputOutput><camunda:connectorId>http-connector</camunda:connectorId></camunda:connector>
</bpmn:extensionElements></bpmn:serviceTask>
<bpmn:boundaryEvent id="unavailable" attachedToRef="lookup"><bpmn:errorEventDefinition errorRef="err"/></bpmn:boundaryEvent>
<bpmn:endEvent id="found"/><bpmn:endEvent id="fallback"/>
<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="lookup"/><bpmn:sequenceFlow id="f2" sourceRef="lookup" targetRef="found"/>
<bpmn:sequenceFlow id="f3" sourceRef="unavailable" targetRef="fallback"/>"""
    content = bpmn("lookup_process", body, extra='<bpmn:error id="err" name="Unavailable" errorCode="UNAVAILABLE"/>\n')
    instance = services.instance_start(definition=deploy_one(content))
    run_jobs_until_idle(1)
    instance.refresh_from_db()
    assert instance.status == "completed"
    assert instance.history.filter(element_id="fallback").exists()
    assert len(server.calls) == 1 and not Incident.objects.exists()
