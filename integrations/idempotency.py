"""The Idempotency-Key header (IETF draft-ietf-httpapi-idempotency-key-header) on POST
endpoints that change state: a retry with the same key and payload gets the first response
and changes nothing; the same key with another payload gets 422; a retry while the first
is still running gets 409.

The key is claimed in its own short transaction (so a concurrent retry sees it), and the
response is stored in the same transaction as the change itself: either both are
committed or neither. A claim whose request died is taken over after
BPM_IDEMPOTENCY_STALE_SECONDS.
"""

from __future__ import annotations

import functools
import hashlib
import json
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from oauth2_provider.models import AccessToken
from rest_framework.response import Response

from bpm.exceptions import ApplicationError, Conflict

from .models import IdempotencyRecord

HEADER = "Idempotency-Key"


class KeyReusedWithOtherPayload(ApplicationError):
    code = "idempotency_key_reused"
    status = 422


class KeyInUse(Conflict):
    code = "idempotency_key_in_use"


class InvalidKey(ApplicationError):
    code = "idempotency_key_invalid"
    status = 400


def _principal(request) -> str:
    token = request.auth
    if isinstance(token, AccessToken) and token.application_id:
        return f"client:{token.application_id}"
    return f"user:{request.user.pk}"


def _fingerprint(request) -> str:
    try:
        body = json.dumps(request.data, sort_keys=True, default=str)
    except (TypeError, ValueError):
        body = request.body.decode("utf-8", "replace")
    return hashlib.sha256(f"{request.method} {request.path}\n{body}".encode()).hexdigest()


def _claim(principal: str, key: str, fingerprint: str) -> IdempotencyRecord | Response:
    """The new record for this key, or the stored response of the first request."""
    stale = timezone.now() - timedelta(seconds=settings.BPM["IDEMPOTENCY_STALE_SECONDS"])
    for _ in range(2):
        try:
            with transaction.atomic():
                return IdempotencyRecord.objects.create(principal=principal, key=key, fingerprint=fingerprint)
        except IntegrityError:
            existing = IdempotencyRecord.objects.filter(principal=principal, key=key).first()
            if existing is None:
                continue  # released meanwhile: claim it now
            if existing.fingerprint != fingerprint:
                raise KeyReusedWithOtherPayload(
                    f"{HEADER} '{key}' was used with another request; use a new key for a new request",
                    details={HEADER: ["Reused with a different payload."]},
                ) from None
            if existing.completed_at is not None:
                response = Response(existing.response_body, status=existing.response_status)
                response["Idempotent-Replayed"] = "true"
                return response
            if existing.created_at < stale:
                IdempotencyRecord.objects.filter(pk=existing.pk, completed_at__isnull=True).delete()
                continue
            raise KeyInUse(
                f"A request with {HEADER} '{key}' is still being processed; retry later",
                details={HEADER: ["The first request with this key has not finished."]},
            ) from None
    raise KeyInUse(f"{HEADER} '{key}' is contended; retry later")


def idempotent(view_method):
    """Honour Idempotency-Key on a DRF view method that changes state."""

    @functools.wraps(view_method)
    def wrapper(self, request, *args, **kwargs):
        key = request.headers.get(HEADER)
        if key is None:
            return view_method(self, request, *args, **kwargs)
        if not key.strip() or len(key) > 255:
            raise InvalidKey(f"{HEADER} must be 1 to 255 characters", details={HEADER: ["1 to 255 characters."]})
        claimed = _claim(_principal(request), key, _fingerprint(request))
        if isinstance(claimed, Response):
            return claimed
        try:
            with transaction.atomic():
                response = view_method(self, request, *args, **kwargs)
                if response.status_code < 400:
                    IdempotencyRecord.objects.filter(pk=claimed.pk).update(
                        response_status=response.status_code,
                        response_body=json.loads(json.dumps(response.data, default=str)),
                        completed_at=timezone.now(),
                    )
        except BaseException:
            # nothing was changed: the key is free for a retry
            IdempotencyRecord.objects.filter(pk=claimed.pk).delete()
            raise
        if response.status_code >= 400:
            IdempotencyRecord.objects.filter(pk=claimed.pk).delete()
        return response

    return wrapper
