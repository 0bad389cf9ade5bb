"""Page URLs, included once from echelon/urls.py after the API includes."""

from django.urls import path

from web import views

urlpatterns = [
    path("", views.dashboard, name="web-dashboard"),
    path("login/", views.SignInView.as_view(), name="web-login"),
    path("logout/", views.SignOutView.as_view(), name="web-logout"),
    path("notifications/", views.notifications, name="web-notifications"),
    path("agents/<uuid:pk>/", views.agent_detail, name="web-agent"),
    path("executions/<uuid:pk>/mind-map/", views.mind_map, name="web-mind-map"),
    path("web/realtime-token/", views.realtime_token, name="web-realtime-token"),
]
