"""What every /engine-rest view shares: authentication as /api/v1 has it (OAuth2 bearer tokens
of registered clients, HTTP Basic for people), Camunda's error body, plain JSON, and
Camunda's paging (firstResult, maxResults)."""

from __future__ import annotations

from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView

from integrations.auth import BasicAuthentication, ClientCredentialsAuthentication

from .errors import CamundaError, camunda_exception_handler


class CamundaView(APIView):
    authentication_classes = [ClientCredentialsAuthentication, BasicAuthentication]
    renderer_classes = [JSONRenderer]
    parser_classes = [JSONParser]
    # the scope a bearer token needs, per HTTP method (reads need "read")
    action_scopes: dict[str, str] = {}
    schema = None  # not part of /api/v1's OpenAPI document

    def get_exception_handler(self):
        return camunda_exception_handler

    def get_authenticate_header(self, request):
        return 'Basic realm="engine-rest"'


def page(request, items, data: dict | None = None):
    """Apply firstResult/maxResults (query string or body) to a list or queryset."""
    source = {**request.query_params.dict(), **(data or {})}
    first = integer(source.get("firstResult"), "firstResult", 0)
    size = integer(source.get("maxResults"), "maxResults", None)
    if size is None:
        return items[first:]
    return items[first : first + size]


def integer(value, name: str, default=None, *, minimum: int = 0):
    """A whole number from a query parameter or a request body, or a 400 naming it."""
    if value in (None, ""):
        return default
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise CamundaError(f"Cannot set '{name}' to value '{value}': a whole number is expected") from None
    if number < minimum:
        raise CamundaError(f"Cannot set '{name}' to value '{value}': it must be at least {minimum}")
    return number


def flag(value) -> bool | None:
    if value in (None, ""):
        return None
    if isinstance(value, bool):
        return value
    return str(value).lower() == "true"
