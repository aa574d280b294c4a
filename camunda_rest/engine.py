"""/engine-rest/engine and /version: what Camunda Modeler and clients ask before anything else."""

from rest_framework.response import Response

from .base import CamundaView

# The Camunda 7 REST version whose shapes this surface follows.
CAMUNDA_VERSION = "7.22.0"


class Engines(CamundaView):
    def get(self, request):
        return Response([{"name": "default"}])


class Version(CamundaView):
    def get(self, request):
        return Response({"version": CAMUNDA_VERSION})
