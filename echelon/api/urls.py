"""`/api/v1/`: every app's routes, plus auth. Apps add their routes in `<app>/api/urls.py`."""

from django.urls import include, path

urlpatterns = [
    path("auth/", include("echelon.auth.urls")),
    path("", include("accounts.api.urls")),
    path("", include("agents.api.urls")),
    path("", include("workflows.api.urls")),
    path("", include("notifications.api.urls")),
    path("", include("monitoring.api.urls")),
]
