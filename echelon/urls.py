"""Top-level URL configuration: admin, REST API, API docs and web pages."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

admin.site.site_header = "Echelon administration"
admin.site.site_title = "Echelon admin"
admin.site.index_title = "Platform operations"

urlpatterns = [
    path("", include("workflows.api_hooks")),  # lifecycle endpoints: before any router include
    path("admin/", admin.site.urls),
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/v1/", include("echelon.api.urls")),
    path("", include("web.urls")),  # web pages (README "Web pages"): after the API includes
]
