"""SSRF through the HTTP connector (issue 13.3): internal addresses in every spelling are
refused, redirects are not followed, and a Connection's credentials go only to its own host."""

import ipaddress
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bpm import netguard
from processes import connections
from processes.connectors import ConnectorError, http_connector

pytestmark = pytest.mark.django_db


@pytest.fixture
def internal_service():
    """A service on loopback holding something secret, recording who called and with what."""
    calls = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            calls.append({"path": self.path, "auth": self.headers.get("Authorization")})
            if self.path == "/hop":
                self.send_response(302)
                self.send_header("Location", f"http://127.0.0.1:{self.server.server_address[1]}/secret")
                self.end_headers()
                return
            body = b'{"secret": "internal"}'
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1], calls
    server.shutdown()


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1", "localhost", "2130706433", "0177.0.0.1", "0x7f.0.0.1", "127.1", "[::ffff:127.0.0.1]", "[::1]"],
)
def test_loopback_in_any_spelling_is_refused(internal_service, host):
    port, calls = internal_service
    with pytest.raises(ConnectorError, match="private or internal"):
        http_connector({"url": f"http://{host}:{port}/secret"})
    assert calls == []


@pytest.mark.parametrize(
    "address",
    [
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "::ffff:10.0.0.1",
        "::ffff:169.254.169.254",
        "fd00:ec2::254",
        "fe80::1",
        "64:ff9b::a9fe:a9fe",
        "2002:7f00:1::",
    ],
)
def test_private_link_local_metadata_and_embedded_ipv4_addresses_are_internal(address):
    assert netguard.is_internal(ipaddress.ip_address(address))


def test_a_public_address_is_not_internal():
    assert not netguard.is_internal(ipaddress.ip_address("93.184.216.34"))


def test_a_name_resolving_to_any_internal_address_is_refused(monkeypatch):
    def resolve(host, port, *args, **kwargs):
        return [(2, 1, 6, "", ("93.184.216.34", port)), (2, 1, 6, "", ("10.0.0.5", port))]

    monkeypatch.setattr(netguard.socket, "getaddrinfo", resolve)
    with pytest.raises(netguard.UnsafeAddress, match="10.0.0.5"):
        netguard.resolve_safely("https://rebind.example.com/x")


def test_an_allow_listed_internal_network_may_be_called_but_redirects_are_not_followed(internal_service, settings):
    port, calls = internal_service
    settings.BPM = {**settings.BPM, "SERVICE_ALLOWED_NETWORKS": ["127.0.0.0/8"]}
    result = http_connector({"url": f"http://127.0.0.1:{port}/hop"})
    assert result["statusCode"] == 302
    assert [c["path"] for c in calls] == ["/hop"]


def test_a_connection_sends_its_credentials_only_to_its_own_host(internal_service, settings):
    port, calls = internal_service
    settings.BPM = {**settings.BPM, "SERVICE_ALLOWED_NETWORKS": ["127.0.0.0/8"]}
    connections.connection_save(name="erp", base_url=f"http://127.0.0.1:{port}/api", auth="bearer", secret="erp-token")
    with pytest.raises(ConnectorError, match="only to"):
        http_connector({"connection": "erp", "url": f"http://localhost:{port}/steal"})
    with pytest.raises(ConnectorError, match="only to"):
        http_connector({"connection": "erp", "url": f"http://127.0.0.1:{port + 1}/steal"})
    assert calls == []
    http_connector({"connection": "erp", "url": "/orders"})
    assert calls == [{"path": "/api/orders", "auth": "Bearer erp-token"}]


def test_a_diagram_header_cannot_replace_the_connection_credentials(internal_service, settings):
    port, calls = internal_service
    settings.BPM = {**settings.BPM, "SERVICE_ALLOWED_NETWORKS": ["127.0.0.0/8"]}
    connections.connection_save(name="erp", base_url=f"http://127.0.0.1:{port}", auth="bearer", secret="real")
    http_connector({"connection": "erp", "url": "/x", "headers": {"Authorization": "Bearer forged"}})
    assert calls[0]["auth"] == "Bearer real"


def test_a_service_task_reading_an_internal_address_raises_an_incident_not_variables(internal_service):
    from processes import services
    from tests.jobs.test_service_tasks import quote_process, run_jobs_until_idle
    from tests.processes.factories import deploy_one

    port, calls = internal_service
    instance = services.instance_start(
        definition=deploy_one(quote_process(f"http://127.0.0.1:{port}", retries=0)),
        variables={"item": "x", "order": "1"},
    )
    run_jobs_until_idle(2)
    instance.refresh_from_db()
    assert calls == [] and "price" not in instance.variables
    assert instance.incidents.filter(resolved_at__isnull=True).exists()
    assert "private or internal" in instance.incidents.get().message


def test_the_compatibility_report_says_how_http_connector_calls_differ_from_camunda():
    from tests.jobs.test_service_tasks import quote_process
    from tests.processes.factories import deploy

    result = deploy(quote_process("http://10.20.0.5:8080"))
    notes = [n for n in result.compatibility if n["feature"] == "http-connector"]
    assert [n["element_id"] for n in notes] == ["get_quote"]
    assert "BPM_SERVICE_ALLOWED_NETWORKS" in notes[0]["effect"] and "not followed" in notes[0]["effect"]
