"""`/api/v1/agent-metrics/` and `/api/v1/api-usage/`: the explicit endpoints first, so
`agent-metrics/bulk/` is not taken for an agent-metric id by the router's detail route."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from monitoring.api.endpoints import AgentMetricAggregateView, AgentMetricBulkView, ApiUsageSummaryView
from monitoring.api.views import AgentMetricViewSet, ApiUsageViewSet

router = SimpleRouter()
router.register("agent-metrics", AgentMetricViewSet, basename="agentmetric")
router.register("api-usage", ApiUsageViewSet, basename="apiusage")

urlpatterns = [
    path("agent-metrics/bulk/", AgentMetricBulkView.as_view(), name="agent-metrics-bulk"),
    path("agent-metrics/aggregate/", AgentMetricAggregateView.as_view(), name="agent-metrics-aggregate"),
    path("api-usage/summary/", ApiUsageSummaryView.as_view(), name="api-usage-summary"),
    *router.urls,
]
