"""Token endpoints: obtain, refresh (rotating, old refresh blacklisted) and logout."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework_simplejwt.views import TokenBlacklistView, TokenObtainPairView, TokenRefreshView

from echelon.api.schema import ErrorSerializer
from echelon.auth.serializers import EmailTokenObtainSerializer, RefreshRequestSerializer, TokenPairSerializer

AUTH_ERRORS = {
    400: OpenApiResponse(ErrorSerializer, description="A required field is missing."),
    401: OpenApiResponse(ErrorSerializer, description="Wrong credentials, or an invalid/expired/revoked token."),
}


@extend_schema(tags=["auth"], summary="Get a token: email and password in, access and refresh tokens out",
               responses={200: TokenPairSerializer, **AUTH_ERRORS})
class TokenObtainView(TokenObtainPairView):
    """Exchange email and password for an access token (15 min) and a refresh token (7 days)."""

    serializer_class = EmailTokenObtainSerializer


@extend_schema(tags=["auth"], summary="Refresh: a new token pair for a refresh token (the old one is revoked)",
               request=RefreshRequestSerializer, responses={200: TokenPairSerializer, **AUTH_ERRORS})
class TokenRefreshRotateView(TokenRefreshView):
    """Exchange a refresh token for a new pair; the old refresh token is blacklisted."""


@extend_schema(
    tags=["auth"], summary="Log out: revoke a refresh token", request=RefreshRequestSerializer,
    responses={204: OpenApiResponse(description="Refresh token revoked."), **AUTH_ERRORS},
)
class LogoutView(TokenBlacklistView):
    """Revoke a refresh token (log out). The access token expires on its own."""

    def post(self, request, *args, **kwargs):
        super().post(request, *args, **kwargs)
        return Response(status=status.HTTP_204_NO_CONTENT)
