"""A URLconf for metering and rate-limit tests: the real monitoring routes plus a DRF router with
tiny test views, so route patterns of router (regex) and nested (path) routes can be checked
without depending on the REST viewsets built elsewhere."""

from django.urls import include, path
from rest_framework import routers, viewsets
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView


class EchoAgentViewSet(viewsets.ViewSet):
    def list(self, request):
        return Response({"ok": True})

    def retrieve(self, request, pk=None, format=None):
        return Response({"pk": pk})


class NestedThoughtsView(APIView):
    def get(self, request, agent_id, node_id):
        return Response({"agent_id": str(agent_id), "node_id": node_id})


class PublicPingView(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []

    def get(self, request):
        return Response({"pong": True})

    def post(self, request):
        return Response({"pong": True})


router = routers.DefaultRouter()
router.register("agents", EchoAgentViewSet, basename="echo-agent")

urlpatterns = [
    path("api/v1/", include("monitoring.api.urls")),
    path("api/v1/agents/<uuid:agent_id>/thoughts/<str:node_id>/", NestedThoughtsView.as_view()),
    path("api/v1/ping/", PublicPingView.as_view()),
    path("api/v1/hooks/n8n/", PublicPingView.as_view()),
    path("api/v1/", include(router.urls)),
]
