"""Scopes (issue 13.4): a read-only client may not manage webhooks, and every API route
declares the scope each of its actions needs, checked by walking the URL conf."""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.views import APIView

from integrations import services
from integrations.auth import TokenHasActionScope
from notifications.models import WebhookSubscription
from notifications.services import subscription_create
from tests.integrations.test_clients import api, token_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def read_only_admin_client():
    """An administrator's service user (the role allows everything) whose token may only read."""
    new = services.client_create(
        name="reader", service_username="svc-reader", scopes=["read"], groups=["BPM Administrator"]
    )
    return api(token_for("reader", new))


def test_a_read_only_client_cannot_create_rotate_or_delete_webhook_subscriptions(read_only_admin_client, settings):
    settings.BPM = {**settings.BPM, "WEBHOOK_ALLOWED_NETWORKS": ["127.0.0.0/8"]}
    subscription, secret = subscription_create(name="erp", url="http://127.0.0.1:9/hook", event_types=[])
    secret_before = subscription.secret_encrypted
    created = read_only_admin_client.post(
        "/api/v1/webhook-subscriptions/", {"name": "x", "url": "http://127.0.0.1:9/h"}, format="json"
    )
    rotated = read_only_admin_client.post(f"/api/v1/webhook-subscriptions/{subscription.pk}/rotate-secret/")
    deleted = read_only_admin_client.delete(f"/api/v1/webhook-subscriptions/{subscription.pk}/")
    listed = read_only_admin_client.get("/api/v1/webhook-subscriptions/")
    for response in (created, rotated, deleted, listed):
        assert response.status_code == 403
        assert "webhooks:manage" in response.json()["detail"]
    subscription.refresh_from_db()
    assert subscription.secret_encrypted == secret_before
    assert WebhookSubscription.objects.count() == 1


def _api_views(resolver=None, prefix=""):
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            yield from _api_views(entry, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            route = prefix + str(entry.pattern)
            cls = getattr(entry.callback, "cls", None) or getattr(entry.callback, "view_class", None)
            if route.startswith("api/v1/") or route.startswith("^api/v1/"):
                yield route, entry.callback, cls


def _actions(callback, cls) -> dict[str, str]:
    """method -> action name for viewsets; method -> method for plain API views."""
    actions = getattr(callback, "actions", None)
    if actions:
        return dict(actions)
    return {m: m for m in ("get", "post", "put", "patch", "delete") if hasattr(cls, m)}


def test_every_api_route_declares_the_scope_of_each_action():
    missing = []
    routes = list(_api_views())
    assert len(routes) > 30  # the walk found the API
    for route, callback, cls in routes:
        if cls is None or not issubclass(cls, APIView):
            missing.append(f"{route}: not a REST framework view")
            continue
        if getattr(cls, "public_endpoint", False):
            continue
        if not any(isinstance(p, TokenHasActionScope) for p in cls().get_permissions()):
            missing.append(f"{route}: permission classes drop the scope check")
        scopes = getattr(cls, "action_scopes", {})
        for method, action in _actions(callback, cls).items():
            if method in ("get", "head", "options"):
                continue
            if "*" not in scopes and action not in scopes:
                missing.append(f"{route}: {method.upper()} ({action}) declares no scope")
    assert missing == []
