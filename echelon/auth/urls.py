"""`/api/v1/auth/` routes."""

from django.urls import path

from echelon.auth.views import LogoutView, TokenObtainView, TokenRefreshRotateView

urlpatterns = [
    path("token/", TokenObtainView.as_view(), name="token-obtain"),
    path("token/refresh/", TokenRefreshRotateView.as_view(), name="token-refresh"),
    path("logout/", LogoutView.as_view(), name="logout"),
]
