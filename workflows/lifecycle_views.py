"""HTTP endpoints of the lifecycle: deploy an agent, stop a deployment, n8n's signed callback.

Thin views: access through the row policies (invisible → 404, visible but not editable → 403),
behaviour in `workflows.services`, domain errors turned into 4xx JSON with a message.
"""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, inline_serializer

from echelon.api.exceptions import error_body
from echelon.clientaddr import client_address
from echelon.openapi import ERRORS, described, error as error_response
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from agents.models import Agent
from echelon.jsonvalues import unstorable_message, unstorable_path
from echelon.policy import policy_for
from workflows.models import Deployment, TriggerType
from workflows.n8n.client import N8nError
from workflows.services import DeploymentStateError, ScheduleError, agent_deploy, deployment_stop
from workflows.services.hooks import MAX_BODY_BYTES, SIGNATURE_HEADER, WORKFLOW_HEADER, HookRejected, hook_receive


STATUS_CODES = {400: "invalid", 401: "authentication_failed", 403: "permission_denied", 404: "not_found",
                409: "conflict", 413: "too_large", 429: "throttled", 502: "bad_gateway"}


def error(status_code: int, detail: str, field: str | None = None, **extra) -> Response:
    """The API's shared error shape (echelon.api.exceptions), with extra facts beside the message."""
    body = error_body(code=STATUS_CODES.get(status_code, "error"), message=detail,
                      fields={field: [detail]} if field else None)
    body["error"].update(extra)
    return Response(body, status=status_code)


def editable_row(model, user, pk):
    """The row `pk` of `model` for `user`: Http404 when invisible, None when visible but not editable."""
    policy = policy_for(model)
    row = policy.visible_to(user).filter(pk=pk).first()
    if row is None:
        raise Http404(f"No {model._meta.verbose_name} {pk}")
    return row if policy.can_edit(user, row) else None


def deployment_payload(deployment: Deployment) -> dict:
    return {
        "id": str(deployment.pk), "agent": str(deployment.agent_id), "version": deployment.version,
        "status": deployment.status, "trigger_type": deployment.trigger_type,
        "trigger_config": deployment.trigger_config, "deployment_url": deployment.deployment_url,
        "error_message": deployment.error_message,
        # datetimes, rendered by DRF as every other timestamp of the API (UTC, `Z`)
        "deployed_at": deployment.deployed_at, "stopped_at": deployment.stopped_at,
        "created_at": deployment.created_at,
    }


class AgentDeployView(APIView):
    """POST /api/v1/agents/{id}/deploy/ {"trigger_config": {...}?, "run_at": "<ISO 8601>"?} → 201
    with the deployment: `deployed`, or `failed` with n8n's message in `error_message`; with
    `run_at`, a `scheduled` deployment left `pending` until then (stop it to cancel)."""

    @extend_schema(
        operation_id="agents_deploy", tags=["agents"],
        summary="Deploy an agent (or schedule it with run_at): the one way to create a deployment",
        request=inline_serializer("AgentDeployRequest", {
            "trigger_config": serializers.DictField(required=False, help_text="Stored on the deployment."),
            "run_at": serializers.DateTimeField(
                required=False, help_text="Schedule instead of deploying now: ISO 8601 with a UTC offset, "
                                          "in the future, at most 365 days ahead. Stop the deployment to cancel."),
        }),
        responses={201: described("the new deployment"), **ERRORS},
    )
    def post(self, request, pk):
        agent = editable_row(Agent, request.user, pk)
        if agent is None:
            return error(status.HTTP_403_FORBIDDEN, "You may not deploy this agent")
        data = request.data if isinstance(request.data, dict) else None
        if data is None:
            return error(status.HTTP_400_BAD_REQUEST, "body must be a JSON object")
        trigger_config = data.get("trigger_config", {})
        if not isinstance(trigger_config, dict):
            return error(status.HTTP_400_BAD_REQUEST, "trigger_config must be an object", "trigger_config")
        unstorable = unstorable_path(trigger_config, "trigger_config")
        if unstorable is not None:  # a NUL character reached PostgreSQL: a 500
            return error(status.HTTP_400_BAD_REQUEST, unstorable_message(unstorable), "trigger_config")
        trigger_type = TriggerType.MANUAL
        if data.get("run_at") is not None:
            trigger_type, trigger_config = TriggerType.SCHEDULED, {**trigger_config, "run_at": data["run_at"]}
        try:
            deployment = agent_deploy(agent=agent, actor=request.user, trigger_type=trigger_type,
                                      trigger_config=trigger_config)
        except ScheduleError as exc:
            return error(status.HTTP_400_BAD_REQUEST, str(exc), "run_at")
        return Response(deployment_payload(deployment), status=status.HTTP_201_CREATED)


class DeploymentStopView(APIView):
    """POST /api/v1/deployments/{id}/stop/ → 200; a pending (scheduled) deployment is cancelled;
    409 when the deployment is neither live nor pending."""

    @extend_schema(
        operation_id="deployments_stop", tags=["deployments"], request=None,
        summary="Stop a live deployment (unpublish in n8n) or cancel a scheduled one",
        responses={
            200: described("the stopped deployment"), **ERRORS,
            409: error_response("the deployment is neither live nor pending"),
            502: error_response("n8n refused to unpublish"),
        },
    )
    def post(self, request, pk):
        deployment = editable_row(Deployment, request.user, pk)
        if deployment is None:
            return error(status.HTTP_403_FORBIDDEN, "You may not stop this deployment")
        try:
            deployment = deployment_stop(deployment=deployment, actor=request.user)
        except DeploymentStateError as exc:
            return error(status.HTTP_409_CONFLICT, str(exc), "status", current=exc.current)
        except N8nError as exc:
            return error(status.HTTP_502_BAD_GATEWAY, f"n8n refused to unpublish: {exc.message}",
                         n8n_status=exc.status)
        return Response(deployment_payload(deployment))


class N8nHookView(APIView):
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
    def post(self, request):
        django_request = request._request
        length = django_request.META.get("CONTENT_LENGTH") or "0"
        if length.isdigit() and int(length) > MAX_BODY_BYTES:
            return error(status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, f"body is larger than {MAX_BODY_BYTES} bytes")
        try:
            outcome = hook_receive(
                body=django_request.body,
                signature=django_request.headers.get(SIGNATURE_HEADER),
                workflow_header=django_request.headers.get(WORKFLOW_HEADER),
                timestamp_header=django_request.headers.get("X-Echelon-Timestamp"),
                # The one notion of the client every limit uses (its trusted-proxy rule included).
                client=client_address(django_request),
            )
        except HookRejected as exc:
            response = error(exc.status, exc.message, exc.field)
            if exc.retry_after is not None:
                response["Retry-After"] = str(exc.retry_after)
            return response
        execution = outcome.result.execution
        return Response(
            {
                "execution": str(execution.pk), "workflow": str(outcome.workflow.pk),
                "n8n_execution_id": execution.execution_id, "status": execution.status,
                "created": outcome.result.created, "thoughts": outcome.result.thoughts,
            },
            status=status.HTTP_201_CREATED if outcome.result.created else status.HTTP_200_OK,
        )
