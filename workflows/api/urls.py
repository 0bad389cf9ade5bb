"""`/api/v1/deployments/`, `/api/v1/workflows/`, `/api/v1/workflow-executions/`, the agent
actions of workflows (`agents/{id}/deploy/`, `agents/dashboard/`) and `/api/v1/hooks/n8n/`."""

from rest_framework.routers import SimpleRouter

from workflows.api.views import (
    AgentLifecycleViewSet, DeploymentViewSet, N8nHookViewSet, WorkflowExecutionViewSet, WorkflowViewSet,
)

router = SimpleRouter()
router.register("deployments", DeploymentViewSet, basename="deployment")
router.register("workflows", WorkflowViewSet, basename="workflow")
router.register("workflow-executions", WorkflowExecutionViewSet, basename="workflowexecution")
router.register("agents", AgentLifecycleViewSet, basename="agent-lifecycle")
router.register("hooks/n8n", N8nHookViewSet, basename="n8n-hook")

urlpatterns = router.urls
