"""Request guards that hold for every view, pages and API alike."""

from __future__ import annotations

from django.conf import settings

from .errors import problem_response


class RequestSizeLimitMiddleware:
    """Refuse bodies over BPM_MAX_REQUEST_BYTES with 413 before any view reads them.

    Django limits only what it parses itself (forms); the REST framework reads JSON from
    the stream, so without this a caller could post any amount of variables.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        limit = settings.BPM["MAX_REQUEST_BYTES"]
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return problem_response(request, 400, "Content-Length is not a number.")
        if length > limit:
            return problem_response(
                request, 413, f"The request body is {length:,} bytes; this server accepts at most {limit:,}."
            )
        return self.get_response(request)
