"""REST endpoints for deployments, workflows and workflow executions (read-only for users)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_view

from echelon.api.pagination import CataloguePagination, TimeSeriesPagination
from echelon.api.viewsets import TIME_SERIES_FILTERS, PolicyViewSet, ReadOnlyPolicyViewSet
from workflows.api.filters import DeploymentFilterSet, WorkflowExecutionFilterSet, WorkflowFilterSet
from workflows.api.serializers import (
    DeploymentSerializer, DeploymentUpdateSerializer, WorkflowExecutionSerializer, WorkflowSerializer,
    WorkflowUpdateSerializer,
)
from workflows.models import Deployment, Workflow, WorkflowExecution


@extend_schema_view(
    list=extend_schema(summary="Deployments of agents you may read."),
    create=extend_schema(summary="Record a pending deployment (next version) of an agent you may change."),
    destroy=extend_schema(summary="Delete a deployment record (agent owner, team admin or agent_manager)."),
    update=extend_schema(request=DeploymentUpdateSerializer),
    partial_update=extend_schema(request=DeploymentUpdateSerializer),
)
class DeploymentViewSet(PolicyViewSet):
    queryset = Deployment.objects.all()
    serializer_class = DeploymentSerializer
    filterset_class = DeploymentFilterSet
    pagination_class = CataloguePagination
    ordering_fields = ["created_at", "deployed_at", "version"]
    ordering = ["-created_at", "id"]


@extend_schema_view(
    list=extend_schema(summary="Workflows of agents you may read."),
    create=extend_schema(summary="Create a workflow for an agent you may change."),
    update=extend_schema(request=WorkflowUpdateSerializer),
    partial_update=extend_schema(request=WorkflowUpdateSerializer),
)
class WorkflowViewSet(PolicyViewSet):
    queryset = Workflow.objects.all()
    serializer_class = WorkflowSerializer
    filterset_class = WorkflowFilterSet
    pagination_class = CataloguePagination
    search_fields = ["name", "description"]
    ordering_fields = ["created_at", "updated_at", "name", "last_execution"]
    ordering = ["-created_at", "id"]


@extend_schema_view(list=extend_schema(summary="Executions of workflows of agents you may read (cursor pages)."))
class WorkflowExecutionViewSet(ReadOnlyPolicyViewSet):
    """Written by ingestion (n8n sync, signed callbacks); users read them."""

    queryset = WorkflowExecution.objects.select_related("workflow")
    serializer_class = WorkflowExecutionSerializer
    filterset_class = WorkflowExecutionFilterSet
    pagination_class = TimeSeriesPagination
    cursor_ordering = ("-started_at", "-id")
    filter_backends = TIME_SERIES_FILTERS
