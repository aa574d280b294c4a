"""/engine-rest/engine and /version: what Camunda Modeler and clients ask before anything else."""

from rest_framework.response import Response

from .base import CamundaView
from .errors import CamundaError

# The Camunda 7 REST version whose shapes this surface follows.
CAMUNDA_VERSION = "7.22.0"


class Engines(CamundaView):
    def get(self, request):
        return Response([{"name": "default"}])


class Version(CamundaView):
    def get(self, request):
        return Response({"version": CAMUNDA_VERSION})


class NotServed(CamundaView):
    """A path of Camunda's REST API this server does not offer (identity, jobs, batches...)."""

    def _refuse(self, request, *args, **kwargs):
        raise CamundaError(
            f"{request.path} is not served here: see docs/CAMUNDA_MIGRATION.md for the resources offered",
            status=404,
        )

    get = post = put = delete = patch = _refuse
