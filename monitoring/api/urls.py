"""`/api/v1/agent-metrics/` (with `bulk/`, `aggregate/`) and `/api/v1/api-usage/` (with `summary/`)."""

from rest_framework.routers import SimpleRouter

from monitoring.api.views import AgentMetricViewSet, ApiUsageViewSet

router = SimpleRouter()
router.register("agent-metrics", AgentMetricViewSet, basename="agentmetric")
router.register("api-usage", ApiUsageViewSet, basename="apiusage")

urlpatterns = router.urls
