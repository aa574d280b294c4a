"""An ERP system integrating with the BPM engine through its REST API, standard library only.

It gets an OAuth2 token (client credentials), deploys the purchase-order process, subscribes
to webhooks and verifies every one it receives (Standard Webhooks signature), starts purchase
orders (retrying one with the same Idempotency-Key), then reports goods received for one of
them as a message, and waits until the engine says that order is closed.

    python examples/erp/erp.py --base-url http://127.0.0.1:8000 \\
        --client-id ... --client-secret ... --port 8765

Exits 0 when everything happened as expected; prints each step.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import queue
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HERE = Path(__file__).resolve().parent


def verify(secret: str, headers: dict, body: bytes) -> bool:
    """The receiver's check from docs/NOTIFICATIONS.md."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(
        hmac.compare_digest(expected, s.split(",", 1)[1])
        for s in headers["webhook-signature"].split()
        if s.startswith("v1,")
    )


class Engine:
    def __init__(self, base_url: str, client_id: str, client_secret: str, scopes: str):
        self.base_url = base_url.rstrip("/")
        basic = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()
        form = f"grant_type=client_credentials&scope={scopes.replace(' ', '+')}".encode()
        token = self._send(
            "POST", "/oauth/token/", form, {"Authorization": f"Basic {basic}"}, "application/x-www-form-urlencoded"
        )
        self.token = token[1]["access_token"]

    def _send(self, method, path, body=None, headers=None, content_type="application/json"):
        url = self.base_url + path  # http(s) only: checked in main()
        request = urllib.request.Request(url, data=body, method=method, headers=headers or {})  # noqa: S310
        if body is not None:
            request.add_header("Content-Type", content_type)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - our own engine
                return response.status, json.loads(response.read() or b"null"), dict(response.headers)
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null"), dict(error.headers)

    def call(self, method: str, path: str, payload=None, extra_headers=None):
        headers = {"Authorization": f"Bearer {self.token}", **(extra_headers or {})}
        body = json.dumps(payload).encode() if payload is not None else None
        return self._send(method, path, body, headers)

    def deploy(self, *files: Path):
        boundary = uuid.uuid4().hex
        parts = []
        for f in files:
            parts.append(
                f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{f.name}"\r\n'
                f"Content-Type: application/xml\r\n\r\n".encode()
                + f.read_bytes()
                + b"\r\n"
            )
        body = b"".join(parts) + f"--{boundary}--\r\n".encode()
        return self._send(
            "POST",
            "/api/v1/definitions/",
            body,
            {"Authorization": f"Bearer {self.token}"},
            f"multipart/form-data; boundary={boundary}",
        )


def receive_webhooks(port: int, inbox: queue.Queue) -> ThreadingHTTPServer:
    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            inbox.put(({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--client-secret", required=True)
    parser.add_argument("--port", type=int, default=8765, help="where this ERP receives webhooks")
    parser.add_argument("--timeout", type=float, default=60)
    args = parser.parse_args(argv)
    if not args.base_url.startswith(("http://", "https://")):
        parser.error("--base-url must be an http(s) URL")

    engine = Engine(
        args.base_url,
        args.client_id,
        args.client_secret,
        "read definitions:deploy instances:start messages:correlate webhooks:manage",
    )
    print("token: ok")

    status, body, _ = engine.deploy(HERE / "purchase_order.bpmn")
    assert status in (200, 201), (status, body)
    print(f"deployed: {status}")

    inbox: queue.Queue = queue.Queue()
    receive_webhooks(args.port, inbox)
    status, subscription, _ = engine.call(
        "POST",
        "/api/v1/webhook-subscriptions/",
        {
            "name": f"erp-{uuid.uuid4().hex[:6]}",
            "url": f"http://127.0.0.1:{args.port}/bpm-events",
            "event_types": ["workflow.instance.started", "workflow.instance.completed"],
            "process_key": "purchase_order",
        },
    )
    assert status == 201, (status, subscription)
    secret = subscription["secret"]
    print("subscribed to webhooks")

    orders = {}
    for number in ("PO-1001", "PO-1002"):
        request = {"definition_key": "purchase_order", "business_key": number, "variables": {"po": number}}
        key = {"Idempotency-Key": f"start-{number}"}
        status, instance, _ = engine.call("POST", "/api/v1/instances/", request, key)
        assert status == 201, (status, instance)
        # the network dropped the answer: the ERP retries with the same key, nothing starts twice
        status, again, headers = engine.call("POST", "/api/v1/instances/", request, key)
        assert status == 201 and again["id"] == instance["id"] and headers.get("Idempotent-Replayed") == "true"
        orders[number] = instance["id"]
    print(f"started: {orders}")

    status, body, _ = engine.call(
        "POST",
        "/api/v1/messages/",
        {"message_name": "goods_received", "business_key": "PO-1001", "message_id": "GRN-1", "payload": {"qty": 10}},
    )
    assert status == 200 and [i["id"] for i in body] == [orders["PO-1001"]], (status, body)
    status, body, _ = engine.call(
        "POST",
        "/api/v1/messages/",
        {"message_name": "goods_received", "business_key": "PO-1002", "message_id": "GRN-1"},
    )
    assert status == 409, (status, body)  # the same goods receipt is not booked twice
    print("goods received: correlated once")

    wanted = {("workflow.instance.started", orders["PO-1001"]), ("workflow.instance.started", orders["PO-1002"])}
    wanted.add(("workflow.instance.completed", orders["PO-1001"]))
    seen, deadline = set(), time.monotonic() + args.timeout
    while not wanted <= seen and time.monotonic() < deadline:
        try:
            headers, body = inbox.get(timeout=0.5)
        except queue.Empty:
            continue
        if not verify(secret, headers, body):
            print("REJECTED a webhook with a bad signature", file=sys.stderr)
            return 1
        event = json.loads(body)
        seen.add((event["type"], event["data"]["instance_id"]))
        print(f"webhook verified: {event['type']} {event['data']['business_key']}")
    if not wanted <= seen:
        print(f"missing webhooks: {sorted(wanted - seen)}", file=sys.stderr)
        return 1
    status, closed, _ = engine.call("GET", f"/api/v1/instances/{orders['PO-1001']}/")
    assert closed["status"] == "completed" and closed["variables"]["receipt_booked"] is True, closed
    print("PO-1001 closed with its goods receipt booked")
    return 0


if __name__ == "__main__":
    sys.exit(main())
