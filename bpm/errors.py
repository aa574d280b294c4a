"""Error pages: problem+json under /api/ (never Django's HTML page), a styled page elsewhere.

Django calls these for errors raised outside the REST framework's own handling: unknown
API routes, unhandled exceptions, CSRF failures, and 403/404 on pages.
"""

from __future__ import annotations

import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader

from .api.exception_handler import problem_body

TITLES = {
    400: ("bad_request", "Bad request"),
    403: ("forbidden", "You may not do this"),
    404: ("not_found", "Not found"),
    413: ("payload_too_large", "Too large"),
    429: ("too_many_requests", "Too many attempts"),
    500: ("server_error", "Something went wrong"),
    503: ("service_unavailable", "Please try again in a moment"),
}
DETAILS = {
    400: "The request could not be understood.",
    403: "You do not have the rights this needs. Ask an administrator if you should.",
    404: "There is nothing here, or it is not yours to see.",
    413: "The request is larger than this server accepts.",
    500: "The error was logged. Try again; if it persists, tell an administrator.",
    503: "A service this needs is not answering. Nothing you sent was half-done.",
}


def is_api(request: HttpRequest) -> bool:
    return request.path.startswith(("/api/", "/engine-rest/"))


def problem_response(request: HttpRequest, status: int, detail: str = "", headers: dict | None = None) -> HttpResponse:
    """problem+json for API callers, a styled page for people (standalone: no database needed)."""
    code, title = TITLES.get(status, ("error", "Error"))
    detail = detail or DETAILS.get(status, "")
    if is_api(request):
        response = JsonResponse(
            problem_body(status, code, detail, {"code": code}), status=status, content_type="application/problem+json"
        )
    else:
        context = {"status": status, "title": title, "detail": detail, "path": request.path}
        html = loader.render_to_string("errors/error.html", context)
        response = HttpResponse(html, status=status)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def bad_request(request, exception=None):
    return problem_response(request, 400)


def permission_denied(request, exception=None):
    message = str(exception) if exception and str(exception) else ""
    return problem_response(request, 403, message)


def page_not_found(request, exception=None):
    return problem_response(request, 404)


def server_error(request):
    # Called inside Django's except block: a database that is down or restarting is a 503
    # with Retry-After (the command did not happen; the caller may simply retry), not a 500.
    if isinstance(sys.exc_info()[1], (OperationalError, InterfaceError)):
        return problem_response(
            request, 503, "The database is not answering; nothing was changed. Try again shortly.", {"Retry-After": "5"}
        )
    return problem_response(request, 500)


def csrf_failure(request, reason=""):
    return problem_response(
        request, 403, "The form expired or came from elsewhere (CSRF). Reload the page and try again."
    )


def locked_out(request, original_response=None, credentials=None):
    """django-axes: too many failed logins for this username from this address."""
    from django.conf import settings

    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    return problem_response(
        request,
        429,
        f"Too many failed logins. Try again in {minutes} minutes, or ask an administrator to unlock the account.",
        {"Retry-After": str(minutes * 60)},
    )
