"""Top-level URL configuration: admin, REST API, API docs and web pages."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

admin.site.site_header = "Echelon administration"
admin.site.site_title = "Echelon admin"
admin.site.index_title = "Platform operations"
# The app list beside every page took 290 of 1,280 px from the lists; the breadcrumbs and the
# index reach every model (issue 19: list columns that fit 1,280 px).
admin.site.enable_nav_sidebar = False

# Under /api/, Django's error handlers answer the API's JSON (the HTML pages elsewhere).
handler404 = "echelon.api.exceptions.not_found"
handler400 = "echelon.api.exceptions.bad_request"  # and 413 for RequestDataTooBig (docs/operations.md)
handler500 = "echelon.api.exceptions.server_error"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/v1/", include("echelon.api.urls")),
    path("", include("supabase_api.urls")),  # /auth/v1, /rest/v1 for supabase-js (docs/supabase.md)
    path("", include("web.urls")),  # web pages (docs/web.md): after the API includes
]
