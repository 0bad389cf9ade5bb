"""`/api/v1/agent-metrics/` and `/api/v1/api-usage/`."""

from rest_framework.routers import SimpleRouter

from monitoring.api.views import AgentMetricViewSet, ApiUsageViewSet

router = SimpleRouter()
router.register("agent-metrics", AgentMetricViewSet, basename="agentmetric")
router.register("api-usage", ApiUsageViewSet, basename="apiusage")

urlpatterns = router.urls
