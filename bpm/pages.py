"""How a page's action reports the errors of the service it calls, written once for every app.

A refusal the person can act on (a conflict, a bad value) becomes a message on the page the
action returns to; "not found" stays a 404 and "not allowed" a 403, the styled pages of
bpm/errors.py. The REST API maps the same errors to problem+json (bpm/api).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from .exceptions import ApplicationError


class Outcome:
    """Whether the action went through (read after the ``with`` block)."""

    ok = False


@contextmanager
def page_action(request, success: str = "") -> Iterator[Outcome]:
    outcome = Outcome()
    try:
        yield outcome
    except ApplicationError as exc:
        if exc.status == 404:
            raise Http404(exc.message) from None
        if exc.status == 403:
            raise PermissionDenied(exc.message) from None
        messages.error(request, exc.message)
    except ValidationError as exc:
        if hasattr(exc, "error_dict"):
            for field, errors in exc.message_dict.items():
                messages.error(request, f"{field}: {' '.join(errors)}")
        else:
            messages.error(request, " ".join(exc.messages))
    else:
        outcome.ok = True
        if success:
            messages.success(request, success)


def query_without_page(request) -> str:
    """The page's query string without its page number (for pager links and saved filters)."""
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()
