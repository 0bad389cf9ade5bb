"""Echelon's URLs plus `/bench/raw-agents/` (mounted only in the bench server)."""

from django.urls import include, path

from bench.views import raw_agent_list

urlpatterns = [
    path("bench/raw-agents/", raw_agent_list),
    path("", include("echelon.urls")),
]
