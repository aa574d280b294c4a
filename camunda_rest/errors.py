"""Camunda's error body, ``{"type": ..., "message": ...}``, with Camunda's status codes.

Camunda names the exception class in ``type``: InvalidRequestException for bad input and
unknown resources (400/404), AuthorizationException (403), RestException (other REST
errors) and ProcessEngineException for a command the engine refused (500 in Camunda;
here the status of the cause: a conflict stays 409, a failed step 422 with its element)."""

from __future__ import annotations

import logging

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler

from bpm.api.exception_handler import as_rest_framework_error, copy_kept_headers
from bpm.exceptions import ApplicationError

logger = logging.getLogger(__name__)


class CamundaError(ApplicationError):
    """An error answered exactly as Camunda answers it."""

    def __init__(self, message: str, *, status: int = 400, type: str = "InvalidRequestException"):
        super().__init__(message)
        self.status = status
        self.camunda_type = type


def _body(kind: str, message: str, **extra) -> dict:
    return {"type": kind, "message": message, **extra}


def camunda_exception_handler(exc, context):
    if isinstance(exc, CamundaError):
        return Response(_body(exc.camunda_type, exc.message), status=exc.status)
    if isinstance(exc, ApplicationError) and exc.code == "external_task_locked":
        # Camunda: a lock the worker does not hold is a bad user request
        return Response(_body("BadUserRequestException", exc.message), status=400)
    if isinstance(exc, ApplicationError):
        kind = "InvalidRequestException" if exc.status in (400, 404) else "ProcessEngineException"
        extra = {"code": exc.code}
        if exc.details:
            extra["details"] = exc.details
        return Response(_body(kind, exc.message, **extra), status=exc.status)
    if isinstance(exc, DjangoValidationError):
        return Response(_body("InvalidRequestException", "; ".join(exc.messages)), status=400)
    exc = as_rest_framework_error(exc)
    response = exception_handler(exc, context)
    if response is None:
        logger.exception("Unhandled error in /engine-rest", exc_info=exc)
        return None
    data = response.data
    if isinstance(exc, drf_exceptions.ValidationError):
        message = (
            "; ".join(f"{k}: {' '.join(map(str, v))}" for k, v in data.items()) if isinstance(data, dict) else str(data)
        )
        kind = "InvalidRequestException"
    elif isinstance(exc, drf_exceptions.PermissionDenied):
        message, kind = str(data.get("detail", data)), "AuthorizationException"
    elif isinstance(exc, drf_exceptions.NotFound):
        message, kind = str(data.get("detail", data)), "InvalidRequestException"
    else:
        message, kind = str(data.get("detail", data) if isinstance(data, dict) else data), "RestException"
    return copy_kept_headers(response, Response(_body(kind, message), status=response.status_code))
