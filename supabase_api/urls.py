"""`/auth/v1/…`, `/rest/v1/<table>` and `/realtime/v1/api/broadcast` (mounted at the root by echelon/urls.py)."""

from django.urls import path, re_path

from supabase_api.auth import views as auth
from supabase_api.realtime_views import BroadcastView
from supabase_api.rest.views import RestView, rest_not_found

urlpatterns = [
    path("auth/v1/token", auth.TokenView.as_view(), name="supabase-token"),
    path("auth/v1/user", auth.UserView.as_view(), name="supabase-user"),
    path("auth/v1/logout", auth.LogoutView.as_view(), name="supabase-logout"),
    path("auth/v1/signup", auth.SignupView.as_view(), name="supabase-signup"),
    path("auth/v1/settings", auth.SettingsView.as_view(), name="supabase-settings"),
    path("rest/v1/<str:table>", RestView.as_view(), name="supabase-rest"),
    path("realtime/v1/api/broadcast", BroadcastView.as_view(), name="supabase-broadcast"),
    path("realtime/v1/api/broadcast/<str:topic>/events/<str:event>", BroadcastView.as_view(),
         name="supabase-broadcast-event"),
    # anything else under the two prefixes: their JSON 404, never Django's HTML page
    re_path(r"^rest/v1(/.*)?$", rest_not_found),
    re_path(r"^auth/v1(/.*)?$", auth.auth_not_found),
]
