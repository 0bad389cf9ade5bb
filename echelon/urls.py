"""Top-level URL configuration: admin, REST API, API docs and web pages."""

from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "Echelon administration"
admin.site.site_title = "Echelon admin"
admin.site.index_title = "Platform operations"

urlpatterns = [
    path("", include("workflows.api_hooks")),  # lifecycle endpoints: before any router include
    path("admin/", admin.site.urls),
    path("api/v1/", include("monitoring.api.urls")),  # before any router include (explicit paths win)
]
