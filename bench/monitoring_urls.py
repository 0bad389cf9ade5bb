"""Echelon's URLs plus `/api/v1/bench/ping/`: the smallest authenticated DRF view (JWT auth, the
tier throttle, a constant body), used to measure what metering costs a request."""

from django.urls import path
from rest_framework.response import Response
from rest_framework.views import APIView

from echelon.urls import urlpatterns as echelon_urlpatterns


class PingView(APIView):
    def get(self, request):
        return Response({"ok": True})


urlpatterns = [path("api/v1/bench/ping/", PingView.as_view()), *echelon_urlpatterns]
