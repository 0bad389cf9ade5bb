"""`/api/v1/agents/` and `/api/v1/agent-templates/`."""

from rest_framework.routers import SimpleRouter

from agents.api.views import AgentTemplateViewSet, AgentViewSet

router = SimpleRouter()
router.register("agents", AgentViewSet, basename="agent")
router.register("agent-templates", AgentTemplateViewSet, basename="agenttemplate")

urlpatterns = router.urls
