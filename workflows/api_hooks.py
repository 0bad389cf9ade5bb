"""Explicit URL paths of the lifecycle endpoints. Included from echelon/urls.py before any
router, so these win over router detail routes with the same prefix."""

from django.urls import path

from notifications.thought_views import ExecutionMindMapView, ExecutionThoughtsView
from workflows.lifecycle_views import AgentDeployView, DeploymentStopView, N8nHookView

urlpatterns = [
    path("api/v1/hooks/n8n/", N8nHookView.as_view(), name="n8n-hook"),
    path("api/v1/agents/<uuid:pk>/deploy/", AgentDeployView.as_view(), name="agent-deploy"),
    path("api/v1/deployments/<uuid:pk>/stop/", DeploymentStopView.as_view(), name="deployment-stop"),
    path("api/v1/workflow-executions/<uuid:pk>/thoughts/", ExecutionThoughtsView.as_view(),
         name="execution-thoughts"),
    path("api/v1/workflow-executions/<uuid:pk>/mind-map/", ExecutionMindMapView.as_view(),
         name="execution-mind-map"),
]
