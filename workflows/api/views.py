"""REST endpoints for deployments, workflows and workflow executions (read-only for users)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_view, inline_serializer
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from echelon.api.pagination import CataloguePagination, TimeSeriesPagination
from echelon.api.viewsets import TIME_SERIES_FILTERS, PolicyViewSet, ReadDeletePolicyViewSet, ReadOnlyPolicyViewSet
from echelon.openapi import ERRORS, error as error_response
from workflows.api.filters import DeploymentFilterSet, WorkflowExecutionFilterSet, WorkflowFilterSet
from workflows.api.serializers import (
    DeploymentSerializer, WorkflowExecutionSerializer, WorkflowSerializer,
    WorkflowUpdateSerializer,
)
from workflows.models import Deployment, Workflow, WorkflowExecution
from workflows.services import deployment_delete
from workflows.services.links import workflow_rotate_secret

SECRET_HELP = ("The workflow's HMAC secret of the signed n8n callback (README, \"Signed callback\"). "
               "Shown this once: store it in n8n's Crypto credential.")
SecretShownOnce = inline_serializer("WorkflowSecret", {
    "id": serializers.UUIDField(), "webhook_secret": serializers.CharField(help_text=SECRET_HELP),
})


@extend_schema_view(
    list=extend_schema(summary="List deployments of agents you may read"),
    retrieve=extend_schema(summary="Get one deployment"),
    destroy=extend_schema(
        summary="Delete a finished (stopped or failed) deployment record",
        description="A pending, deploying or deployed deployment answers 409: stop it first "
                    "(`POST /api/v1/deployments/{id}/stop/`). New deployments come from "
                    "`POST /api/v1/agents/{id}/deploy/`; they change only through their state machine.",
        responses={204: None, **ERRORS, 409: error_response("the deployment is not finished: stop it first")},
    ),
)
class DeploymentViewSet(ReadDeletePolicyViewSet):
    """Deployments are read here; one creation path (the agent's deploy), one way to end a live
    one (stop), both through workflows.services.deployments; finished records may be deleted."""

    queryset = Deployment.objects.all()
    serializer_class = DeploymentSerializer
    filterset_class = DeploymentFilterSet
    pagination_class = CataloguePagination
    ordering_fields = ["created_at", "deployed_at", "version"]
    ordering = ["-created_at", "id"]

    def perform_destroy(self, instance):
        deployment_delete(deployment=instance)  # DeploymentNotDeletable (a Conflict): 409


@extend_schema_view(
    list=extend_schema(summary="Workflows of agents you may read."),
    create=extend_schema(
        summary="Create a workflow for an agent you may change; the answer holds its webhook secret, once.",
        description="409 when `n8n_workflow_id` is linked to another workflow.",
        responses={201: inline_serializer("WorkflowCreated", {
            "webhook_secret": serializers.CharField(help_text=SECRET_HELP)})},
    ),
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
    edit_actions = PolicyViewSet.edit_actions | {"rotate_secret"}

    def create(self, request, *args, **kwargs):
        """The row as every reader sees it, plus its generated webhook secret: the creator
        needs it for n8n, and this answer is the only place it is shown (rotate-secret aside)."""
        response = super().create(request, *args, **kwargs)
        response.data["webhook_secret"] = self._created.webhook_secret
        return response

    def perform_create(self, serializer):
        super().perform_create(serializer)
        self._created = serializer.instance

    @extend_schema(
        summary="Replace the workflow's webhook secret (agent owner, team admin or agent_manager); "
                "the answer shows the new one, once. Callbacks signed with the old one get 401.",
        request=None, responses={200: SecretShownOnce},
    )
    @action(detail=True, methods=["post"], url_path="rotate-secret", filter_backends=[], pagination_class=None)
    def rotate_secret(self, request, pk=None):
        workflow = self.get_object()
        secret = workflow_rotate_secret(workflow=workflow)
        return Response({"id": str(workflow.pk), "webhook_secret": secret}, status=status.HTTP_200_OK)


@extend_schema_view(list=extend_schema(summary="Executions of workflows of agents you may read (cursor pages)."))
class WorkflowExecutionViewSet(ReadOnlyPolicyViewSet):
    """Written by ingestion (n8n sync, signed callbacks); users read them."""

    queryset = WorkflowExecution.objects.select_related("workflow")
    serializer_class = WorkflowExecutionSerializer
    filterset_class = WorkflowExecutionFilterSet
    pagination_class = TimeSeriesPagination
    cursor_ordering = ("-started_at", "-id")
    filter_backends = TIME_SERIES_FILTERS
