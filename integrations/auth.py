"""OAuth2 client credentials for systems: the client acts as its service user, limited to
its scopes; session and basic authentication (people) are governed by roles alone."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from oauth2_provider.contrib.rest_framework import OAuth2Authentication
from oauth2_provider.models import AccessToken
from oauth2_provider.scopes import BaseScopes
from rest_framework import authentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.throttling import SimpleRateThrottle

from bpm import users

from .models import ApiClient
from .scopes import SCOPES


def _token_cache_key(raw: str) -> str:
    return "bpm:api-token:" + hashlib.sha256(raw.encode()).hexdigest()


def forget_tokens(raw_tokens) -> None:
    """Drop tokens from the authentication cache (on revocation, deletion, deactivation)."""
    cache.delete_many([_token_cache_key(raw) for raw in raw_tokens])


def auth_cache_seconds() -> int:
    """How long a verified token may be reused: BPM_API_AUTH_CACHE_SECONDS, but only with a
    cache every server process shares. With the per-process default, a revocation in one
    process could not reach the others' entries, so tokens are verified on every request."""
    backend = settings.CACHES["default"]["BACKEND"]
    if backend.endswith(("LocMemCache", "DummyCache")):
        return 0
    return settings.BPM["API_AUTH_CACHE_SECONDS"]


def _bearer(request) -> str | None:
    kind, _, raw = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    return raw.strip() if kind.lower() == "bearer" and raw.strip() else None


class ClientCredentialsAuthentication(OAuth2Authentication):
    """A bearer token of a registered, active client; the request runs as its service user.

    A verified token, its service user and that user's role permissions are kept in the
    shared cache (CACHE_URL) for BPM_API_AUTH_CACHE_SECONDS: verifying costs four queries and
    about a quarter of a request's CPU. Revoking a client or a token, deactivating a client or
    its service user drops the entries at once in every server process (signals.py); without
    a shared cache nothing is cached. A change to the service user's groups applies within
    that time. Object rights are never cached.
    """

    def authenticate(self, request):
        if "access_token" in request.query_params or "access_token" in request._request.POST:
            # oauthlib would read it there, and URLs end up in access logs and browser history
            raise AuthenticationFailed("Send the access token in the Authorization header, never in the URL or a form.")
        raw = _bearer(request)
        seconds = auth_cache_seconds()
        if raw is not None and seconds > 0:
            cached = cache.get(_token_cache_key(raw))
            if cached is not None and cached[1].expires > timezone.now():
                return cached
        result = self._verify(request)
        if result is not None and raw is not None and seconds > 0:
            user, token = result
            user.get_all_permissions()  # fills the permission caches that travel with the user
            users.group_ids(user)  # and its group ids (candidate groups of tasks)
            token._state.fields_cache.pop("application", None)  # keep the client's secret out of the cache
            cache.set(_token_cache_key(raw), (user, token), timeout=seconds)
        return result

    def _verify(self, request):
        result = super().authenticate(request)
        if result is None:
            return None
        user, token = result
        # one query for the client and its service user (the token query loaded the application)
        client = (
            ApiClient.objects.select_related("application__user").filter(application_id=token.application_id).first()
        )
        if client is None or not client.active:
            raise AuthenticationFailed("This API client was revoked or is not registered.")
        if user is None:  # client credentials: the token belongs to the client, not a person
            user = client.application.user
        if user is None or not user.is_active:
            raise AuthenticationFailed("The API client has no active service user.")
        return user, token


class ClientScopes(BaseScopes):
    """A client may ask for the scopes an administrator granted it (ApiClient.scopes)."""

    def get_all_scopes(self):
        return SCOPES

    def get_available_scopes(self, application=None, request=None, *args, **kwargs):
        client = getattr(application, "api_client", None)
        return client.scope_list if client and client.active else []

    def get_default_scopes(self, application=None, request=None, *args, **kwargs):
        return self.get_available_scopes(application, request)


def required_scope(request, view) -> str | None:
    """The scope an action needs: ``read`` for reads (unless the view says otherwise for all
    its actions, ``"*"``), the view's ``action_scopes`` entry for writes; None: not for clients."""
    scopes = getattr(view, "action_scopes", {})
    if "*" in scopes:
        return scopes["*"]
    if request.method in SAFE_METHODS:
        return "read"
    action = getattr(view, "action", None) or request.method.lower()
    return scopes.get(action)


class TokenHasActionScope(BasePermission):
    """Bearer tokens need the action's scope; the service user's permissions still apply after."""

    message = "The token lacks the scope this action needs."

    def has_permission(self, request, view) -> bool:
        token = request.auth
        if not isinstance(token, AccessToken):
            return True
        needed = required_scope(request, view)
        if needed is None:
            self.message = "This action is not open to API clients."
            return False
        if not token.allow_scopes([needed]):
            self.message = f"The token lacks the scope {needed!r} this action needs (it has: {token.scope})."
            return False
        return True


class ClientRateThrottle(SimpleRateThrottle):
    """Requests per client (per user for people), rate BPM_API_RATE; over it: 429 with Retry-After."""

    scope = "client"

    def get_cache_key(self, request, view):
        token = request.auth
        if isinstance(token, AccessToken) and token.application_id:
            ident = f"client:{token.application_id}"
        elif request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}


class BasicAuthentication(authentication.BasicAuthentication):
    """HTTP Basic for people, counted by django-axes like the login form.

    Authenticates against Django's request (not the REST framework's wrapper), so a lockout
    marks the request the axes middleware answers with 429."""

    def authenticate_credentials(self, userid, password, request=None):
        return super().authenticate_credentials(userid, password, getattr(request, "_request", request))
