"""Outside-world stand-ins for the notification tests: an SMTP server and a webhook
receiver, both on 127.0.0.1."""

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


@pytest.fixture
def smtp(settings):
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Message

    received = []

    class Collect(Message):
        def handle_message(self, message):
            received.append(message)

    import socket

    with socket.socket() as probe:  # a free port for the SMTP server
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Collect(), hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = False
    yield received
    controller.stop()


@pytest.fixture
def receiver(settings):
    settings.BPM = {**settings.BPM, "WEBHOOK_ALLOWED_NETWORKS": ["127.0.0.0/8"], "DELIVERY_RETRY_BASE_SECONDS": 10}
    state = {"fail": 0, "requests": []}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if state.get("delay"):  # a slow receiver
                time.sleep(state["delay"])
            state["requests"].append({"headers": {k.lower(): v for k, v in self.headers.items()}, "body": body})
            status = state.get("status") or (503 if state["fail"] > 0 else 204)
            state["fail"] -= 1
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    state["url"] = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    yield state
    server.shutdown()
