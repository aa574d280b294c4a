"""Connections: a diagram names a connection; its base URL and credentials are applied to the call."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.urls import reverse

from processes import connections, services
from processes.models import Connection
from tests.jobs.test_service_tasks import run_jobs_until_idle
from tests.processes.factories import bpmn, deploy_one

pytestmark = pytest.mark.django_db


@pytest.fixture
def server():
    seen: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def _answer(self):
            length = int(self.headers.get("Content-Length", 0))
            body = self.rfile.read(length) if length else b""
            seen.append(
                {
                    "path": self.path,
                    "auth": self.headers.get("Authorization"),
                    "key": self.headers.get("X-API-Key"),
                    "body": body,
                }
            )
            if self.path == "/token":
                payload = json.dumps({"access_token": "tok-123", "expires_in": 3600}).encode()
            else:
                payload = json.dumps({"ok": True}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = _answer

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", seen
    httpd.shutdown()


def call_through(connection_name: str):
    task = f"""<bpmn:serviceTask id="call"><bpmn:extensionElements><camunda:connector><camunda:inputOutput>
      <camunda:inputParameter name="connection">{connection_name}</camunda:inputParameter>
      <camunda:inputParameter name="url">/orders</camunda:inputParameter>
      <camunda:inputParameter name="method">POST</camunda:inputParameter>
      <camunda:outputParameter name="ok">${{response.ok}}</camunda:outputParameter>
    </camunda:inputOutput><camunda:connectorId>http-connector</camunda:connectorId></camunda:connector></bpmn:extensionElements></bpmn:serviceTask>"""
    body = (
        '<bpmn:startEvent id="start"/>' + task + '<bpmn:endEvent id="end"/>'
        '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="call"/><bpmn:sequenceFlow id="f2" sourceRef="call" targetRef="end"/>'
    )
    instance = services.instance_start(definition=deploy_one(bpmn("through_connection", body)))
    run_jobs_until_idle(1)
    instance.refresh_from_db()
    return instance


def test_the_secret_is_stored_encrypted_and_applied_as_a_bearer_token(server):
    url, seen = server
    connections.connection_save(name="erp", base_url=url, auth="bearer", secret="s3cr3t-token")
    stored = Connection.objects.get(name="erp")
    assert "s3cr3t-token" not in stored.secret_encrypted and stored.has_secret
    instance = call_through("erp")
    assert instance.status == "completed" and instance.variables["ok"] is True
    assert seen[0]["path"] == "/orders" and seen[0]["auth"] == "Bearer s3cr3t-token"


def test_basic_and_api_key_connections_send_their_credentials(server):
    url, seen = server
    connections.connection_save(name="hr", base_url=url, auth="basic", username="bot", secret="pw")
    connections.connection_save(name="crm", base_url=url, auth="api_key", secret="k-1")
    call_through("hr")
    call_through("crm")
    assert seen[0]["auth"] == "Basic Ym90OnB3" and seen[1]["key"] == "k-1"


def test_oauth2_client_credentials_fetch_a_token_once_and_use_it(server):
    url, seen = server
    connections.connection_save(
        name="api", base_url=url, auth="oauth2", username="client", secret="cs", token_url=f"{url}/token"
    )
    call_through("api")
    call_through("api")
    assert [s["path"] for s in seen] == ["/token", "/orders", "/orders"]
    assert b"client_secret=cs" in seen[0]["body"] and seen[1]["auth"] == "Bearer tok-123"


def test_saving_without_a_secret_keeps_the_stored_one(server):
    url, _ = server
    connections.connection_save(name="erp", base_url=url, auth="bearer", secret="first")
    connections.connection_save(name="erp", base_url=url + "/v2", auth="bearer", secret="")
    from bpm import secrets

    assert secrets.decrypt(Connection.objects.get(name="erp").secret_encrypted) == "first"


def test_an_unknown_connection_fails_the_job_with_a_clear_error():
    instance = call_through("nowhere")
    from processes.models import Job

    assert instance.status == "running"
    assert "No connection named 'nowhere'" in Job.objects.get(instance=instance).last_error


def test_verify_reports_how_the_call_went(server):
    url, _ = server
    ok, message = connections.connection_verify(connection=connections.connection_save(name="erp", base_url=url))
    assert ok and message == "HTTP 200"
    bad = connections.connection_save(name="down", base_url="http://127.0.0.1:9/")
    ok, message = connections.connection_verify(connection=bad)
    assert not ok and "Could not reach" in message


def test_the_admin_never_shows_the_secret(client, admin_user, server):
    url, _ = server
    connection = connections.connection_save(name="erp", base_url=url, auth="bearer", secret="hidden-value")
    client.force_login(admin_user)
    page = client.get(reverse("admin:processes_connection_change", args=[connection.pk])).content.decode()
    assert "hidden-value" not in page and connection.secret_encrypted not in page
