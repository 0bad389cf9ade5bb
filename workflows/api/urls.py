"""`/api/v1/deployments/`, `/api/v1/workflows/`, `/api/v1/workflow-executions/`."""

from rest_framework.routers import SimpleRouter

from workflows.api.views import DeploymentViewSet, WorkflowExecutionViewSet, WorkflowViewSet

router = SimpleRouter()
router.register("deployments", DeploymentViewSet, basename="deployment")
router.register("workflows", WorkflowViewSet, basename="workflow")
router.register("workflow-executions", WorkflowExecutionViewSet, basename="workflowexecution")

urlpatterns = router.urls
