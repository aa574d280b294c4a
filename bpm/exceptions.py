"""The root of the errors services raise; one handler maps them to HTTP (bpm.api.exception_handler)."""

from __future__ import annotations


class ApplicationError(Exception):
    """An error a caller can act on: it carries a stable code, an HTTP status and details."""

    code = "application_error"
    status = 400

    def __init__(self, message: str, *, code: str | None = None, details: dict | list | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.details = details or {}


class NotFound(ApplicationError):
    code = "not_found"
    status = 404


class Conflict(ApplicationError):
    code = "conflict"
    status = 409


class InvalidInput(ApplicationError):
    code = "invalid"
    status = 400
