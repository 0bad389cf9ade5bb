"""Admin for agent metrics and API usage: big time series, shown with estimated counts, read-only
(both are ingested: `columns.ingested` in monitoring.policies)."""

from __future__ import annotations

from django.contrib import admin

from echelon.admin import EstimatedCountPaginator, PolicyModelAdmin, json_display
from monitoring.models import AgentMetric, ApiUsage


@admin.register(AgentMetric)
class AgentMetricAdmin(PolicyModelAdmin):
    list_display = ("agent", "metric_type", "value", "unit", "recorded_at")
    list_filter = ("metric_type", "unit", "recorded_at")
    list_select_related = ("agent",)
    search_fields = ("agent__name",)
    search_uuid_fields = ("agent_id",)
    autocomplete_fields = ("agent",)
    date_hierarchy = "recorded_at"
    paginator = EstimatedCountPaginator
    metadata_pretty = json_display("metadata")
    readonly_fields = ("id", "metadata_pretty")
    fields = ("id", "agent", "metric_type", "value", "unit", "metadata_pretty", "recorded_at")


@admin.register(ApiUsage)
class ApiUsageAdmin(PolicyModelAdmin):
    """Usage is recorded by the platform (monitoring.middleware); the admin reads it."""

    list_display = ("created_at", "method", "endpoint", "status_code", "response_time_ms", "cost_usd", "user",
                    "agent")
    list_filter = ("method", "status_code", "created_at")
    list_select_related = ("user", "agent")
    search_fields = ("endpoint", "user__email")
    search_uuid_fields = ("user_id", "agent_id")
    autocomplete_fields = ("user", "agent")
    date_hierarchy = "created_at"
    paginator = EstimatedCountPaginator
    readonly_fields = ("id", "created_at")
