"""Test-only URLs: the admin plus tiny API/realtime/other views, so the security tests do not
depend on endpoints other areas build (CORS paths, CSRF on session-authenticated writes)."""

from django.contrib import admin
from django.urls import path
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView


class PublicEchoView(APIView):
    permission_classes = [AllowAny]

    def get(self, request):
        return Response({"ok": True})


class PrivateEchoView(APIView):
    """Uses the project's default authentication (JWT, session) and IsAuthenticated."""

    def post(self, request):
        return Response({"received": request.data}, status=201)


urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/security-echo/", PrivateEchoView.as_view()),
    path("api/public-echo/", PublicEchoView.as_view()),
    path("realtime/public-echo/", PublicEchoView.as_view()),
    path("elsewhere/public-echo/", PublicEchoView.as_view()),
]
