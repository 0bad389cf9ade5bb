"""REST endpoints for deployments, workflows and workflow executions, and the lifecycle actions:
deploy an agent, the agent dashboard, stop a deployment, an execution's thoughts and mind map,
n8n's signed callback.

Thin actions: access through the row policies (invisible → 404, visible but not editable → 403,
PolicyMixin), behaviour in `workflows.services`; the services' domain errors (echelon.errors)
are answered by the one exception handler.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view, inline_serializer
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from agents.api.serializers import AgentDashboardRowSerializer
from agents.models import Agent
from echelon.api.pagination import CataloguePagination, TimeSeriesPagination
from echelon.api.responses import ORJSONResponse
from echelon.api.viewsets import (
    TIME_SERIES_FILTERS, PolicyActionViewSet, PolicyViewSet, ReadDeletePolicyViewSet, ReadOnlyPolicyViewSet,
)
from echelon.clientaddr import client_address
from echelon.errors import DomainError
from echelon.jsonvalues import unstorable_message, unstorable_path
from echelon.openapi import ERRORS, described, error as error_response
from workflows.api.filters import DeploymentFilterSet, WorkflowExecutionFilterSet, WorkflowFilterSet
from workflows.api.serializers import (
    DeploymentSerializer, WorkflowExecutionSerializer, WorkflowSerializer,
    WorkflowUpdateSerializer,
)
from workflows.models import Deployment, DeploymentStatus, TriggerType, Workflow, WorkflowExecution
from workflows.selectors import agent_dashboard
from workflows.services.deployments import deployment_delete, deployment_request, deployment_stop_request
from workflows.services.hooks import MAX_BODY_BYTES, SIGNATURE_HEADER, WORKFLOW_HEADER, HookRejected, hook_receive
from workflows.services.links import workflow_rotate_secret
from workflows.services.thoughts import execution_mind_map, thoughts_ingest

SECRET_HELP = ("The workflow's HMAC secret of the signed n8n callback (docs/n8n.md, \"Signed callback\"). "
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
    edit_actions = frozenset({"stop"})  # no update: deployments change through their state machine
    denied_messages = {"stop": "You may not stop this deployment"}

    @extend_schema(
        operation_id="deployments_stop",
        summary="Stop a live deployment (202, `stopping`: a worker unpublishes it), or cancel a pending "
                "(scheduled) one (200, `stopped`).",
        description="The outcome of the unpublish arrives as a change of the deployment row (websocket push, "
                    "next read); n8n refusing puts it back to `deployed` with n8n's message (docs/n8n.md).",
        request=None,
        responses={
            202: OpenApiResponse(DeploymentSerializer, description="the deployment, stopping (the worker unpublishes it)"),
            200: OpenApiResponse(DeploymentSerializer, description="the cancelled (pending) deployment, stopped"), **ERRORS,
            409: error_response("the deployment is neither live, unknown nor pending"),
        },
    )
    @action(detail=True, methods=["post"], filter_backends=[], pagination_class=None)
    def stop(self, request, pk=None):
        deployment = deployment_stop_request(deployment=self.get_object(), actor=request.user)
        answer = status.HTTP_200_OK if deployment.status == DeploymentStatus.STOPPED else status.HTTP_202_ACCEPTED
        return Response(DeploymentSerializer(deployment, context=self.get_serializer_context()).data, status=answer)

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
    edit_actions = frozenset({"thoughts"})
    denied_messages = {"thoughts": "You may not add thoughts to this execution"}

    @extend_schema(
        operation_id="workflow_executions_thoughts", summary="Ingest a batch of thoughts (a list, or {thoughts: [...]}).",
        request=OpenApiTypes.OBJECT, responses={201: described("thoughts ingested"), **ERRORS},
    )
    @action(detail=True, methods=["post"], filter_backends=[], pagination_class=None)
    def thoughts(self, request, pk=None):
        execution = self.get_object()
        data = request.data
        thoughts = data.get("thoughts") if isinstance(data, dict) else data
        rows = thoughts_ingest(execution=execution, thoughts=thoughts)
        return Response(
            {"execution": str(execution.pk), "ingested": len(rows), "node_ids": [row.node_id for row in rows]},
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(
        operation_id="workflow_executions_mind_map", summary="The execution's thoughts as a tree.",
        responses={200: described("the thought tree"), 404: ERRORS[404]},
    )
    @action(detail=True, methods=["get"], url_path="mind-map", filter_backends=[], pagination_class=None)
    def mind_map(self, request, pk=None):
        execution = self.get_object()
        return Response({"execution": str(execution.pk), "nodes": execution_mind_map(execution_id=execution.pk)})


class AgentLifecycleViewSet(PolicyActionViewSet):
    """`/api/v1/agents/{id}/deploy/` and `/api/v1/agents/dashboard/`: agent actions that need
    deployments and workflows, so they live here (workflows sits above agents)."""

    queryset = Agent.objects.all()
    filter_backends: list = []
    edit_actions = frozenset({"deploy"})
    denied_messages = {"deploy": "You may not deploy this agent"}

    @extend_schema(
        operation_id="agents_deploy", tags=["agents"],
        summary="Deploy the agent now (202, `deploying`: a worker publishes it), or at `run_at` "
                "(201, a `scheduled` deployment left `pending`; stop it to cancel).",
        description="The outcome (`deployed`, `failed` with n8n's message, or `unknown` until the next "
                    "reconcile pass) arrives as a change of the deployment row: a websocket push and the "
                    "next read (docs/n8n.md).",
        request=inline_serializer("AgentDeployRequest", {
            "trigger_config": serializers.DictField(required=False, help_text="Stored on the deployment."),
            "run_at": serializers.DateTimeField(
                required=False, help_text="Schedule instead of deploying now: ISO 8601 with a UTC offset, "
                                          "in the future, at most 365 days ahead. Stop the deployment to cancel."),
        }),
        responses={202: OpenApiResponse(DeploymentSerializer, description="the new deployment, deploying (the worker publishes it)"),
                   201: OpenApiResponse(DeploymentSerializer, description="the new scheduled deployment, pending"), **ERRORS},
    )
    @action(detail=True, methods=["post"])
    def deploy(self, request, pk=None):
        agent = self.get_object()
        data = request.data if isinstance(request.data, dict) else None
        if data is None:
            raise DomainError("body must be a JSON object")
        trigger_config = data.get("trigger_config", {})
        if not isinstance(trigger_config, dict):
            raise DomainError("trigger_config must be an object", field="trigger_config")
        unstorable = unstorable_path(trigger_config, "trigger_config")
        if unstorable is not None:  # a NUL character reached PostgreSQL: a 500
            raise DomainError(unstorable_message(unstorable), field="trigger_config")
        trigger_type = TriggerType.MANUAL
        if data.get("run_at") is not None:
            trigger_type, trigger_config = TriggerType.SCHEDULED, {**trigger_config, "run_at": data["run_at"]}
        deployment = deployment_request(agent=agent, actor=request.user, trigger_type=trigger_type,
                                        trigger_config=trigger_config)
        scheduled = trigger_type == TriggerType.SCHEDULED
        return Response(DeploymentSerializer(deployment, context=self.get_serializer_context()).data,
                        status=status.HTTP_201_CREATED if scheduled else status.HTTP_202_ACCEPTED)

    @extend_schema(
        tags=["agents"],
        summary="Dashboard: every agent you may read with its latest deployment and workflow counters.",
        description="Newest `updated_at` first, not paginated, answered by one SQL query.",
        responses={200: AgentDashboardRowSerializer(many=True)},
        filters=False,
    )
    @action(detail=False, methods=["get"], filter_backends=[], pagination_class=None)
    def dashboard(self, request):
        return ORJSONResponse(agent_dashboard(user=request.user))


class N8nHookViewSet(viewsets.ViewSet):
    """POST /api/v1/hooks/n8n/: the signed callback (authenticated by its HMAC only; the order of
    checks is in workflows.services.hooks)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="hooks_n8n", tags=["hooks"], auth=[], request=OpenApiTypes.OBJECT,
        summary="n8n's signed callback: record an execution and its thoughts (HMAC, no token)",
        responses={
            200: described("replay of a recorded execution"),
            201: described("execution recorded"),
            400: ERRORS[400], 401: error_response("bad or stale signature"),
            404: error_response("unknown workflow"),
            413: error_response("body too large"),
            429: error_response("too many unsigned or badly signed callbacks from this address"),
        },
    )
    def create(self, request):
        django_request = request._request
        length = django_request.META.get("CONTENT_LENGTH") or "0"
        if length.isdigit() and int(length) > MAX_BODY_BYTES:
            raise HookRejected(413, f"body is larger than {MAX_BODY_BYTES} bytes")
        outcome = hook_receive(
            body=django_request.body,
            signature=django_request.headers.get(SIGNATURE_HEADER),
            workflow_header=django_request.headers.get(WORKFLOW_HEADER),
            timestamp_header=django_request.headers.get("X-Echelon-Timestamp"),
            # The one notion of the client every limit uses (its trusted-proxy rule included).
            client=client_address(django_request),
        )
        execution = outcome.result.execution
        return Response(
            {
                "execution": str(execution.pk), "workflow": str(outcome.workflow.pk),
                "n8n_execution_id": execution.execution_id, "status": execution.status,
                "created": outcome.result.created, "thoughts": outcome.result.thoughts,
            },
            status=status.HTTP_201_CREATED if outcome.result.created else status.HTTP_200_OK,
        )
