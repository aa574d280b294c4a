"""Turn service errors into RFC 9457 problem+json responses, in one place."""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler

from bpm.exceptions import ApplicationError

logger = logging.getLogger(__name__)


def problem_body(status: int, code: str, detail, extra: dict | None = None) -> dict:
    """An RFC 9457 problem (the REST framework's errors here, Django's in bpm/errors.py)."""
    body = {"type": f"about:blank#{code}", "title": code.replace("_", " "), "status": status, "detail": detail}
    if extra:
        body.update(extra)
    return body


def _problem(status: int, code: str, detail, extra: dict | None = None) -> Response:
    return Response(problem_body(status, code, detail, extra), status=status, content_type="application/problem+json")


def as_rest_framework_error(exc):
    """Django's PermissionDenied and Http404 as the REST framework's own errors."""
    if isinstance(exc, DjangoPermissionDenied):
        return drf_exceptions.PermissionDenied(str(exc) or None)
    if isinstance(exc, Http404):
        return drf_exceptions.NotFound(str(exc) or None)
    return exc


def copy_kept_headers(source, target):
    """Headers a client acts on (challenge, retry, allowed methods) survive the error body's rewrite."""
    for header, value in source.items():
        if header.lower() in ("www-authenticate", "retry-after", "allow"):
            target[header] = value
    return target


def problem_exception_handler(exc, context):
    """Map ApplicationError, Django and DRF errors to problem+json; anything else is a logged 500."""
    if isinstance(exc, ApplicationError):
        extra = {"code": exc.code}
        if exc.details:
            extra["errors"] = exc.details
        return _problem(exc.status, exc.code, exc.message, extra)
    if isinstance(exc, DjangoValidationError):
        errors = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        return _problem(400, "invalid", "Invalid input.", {"errors": errors})
    exc = as_rest_framework_error(exc)
    response = exception_handler(exc, context)
    if response is None:
        logger.exception("Unhandled error in API view", exc_info=exc)
        return None
    data = response.data
    if isinstance(exc, drf_exceptions.ValidationError):
        return _problem(response.status_code, "invalid", "Invalid input.", {"errors": data})
    detail = data.get("detail") if isinstance(data, dict) else data
    code = getattr(exc, "default_code", "error")
    return copy_kept_headers(response, _problem(response.status_code, code, detail))
