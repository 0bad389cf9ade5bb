"""Explicit routes of the monitoring endpoints, included before the API router in echelon/urls.py
(so `agent-metrics/bulk/` is not taken for an agent-metric id)."""

from django.urls import path

from monitoring.api.views import AgentMetricAggregateView, AgentMetricBulkView, ApiUsageSummaryView

urlpatterns = [
    path("agent-metrics/bulk/", AgentMetricBulkView.as_view(), name="agent-metrics-bulk"),
    path("agent-metrics/aggregate/", AgentMetricAggregateView.as_view(), name="agent-metrics-aggregate"),
    path("api-usage/summary/", ApiUsageSummaryView.as_view(), name="api-usage-summary"),
]
