"""Monitoring endpoints beyond CRUD: bulk metric ingestion, aggregates and the usage summary.

Thin views over `monitoring.services` and `monitoring.selectors`."""

from __future__ import annotations

import orjson
from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, ParseError
from rest_framework.response import Response
from rest_framework.views import APIView

from agents.models import Agent
from echelon.api.exceptions import error_body
from echelon.openapi import ERRORS, described, error as error_response
from echelon.policy import policy_for
from monitoring.api.params import choice, optional_uuid, window
from monitoring.models import MetricType
from monitoring.selectors import BUCKETS, agent_metric_aggregates, api_usage_summary
from monitoring.services import MetricRowsInvalid, agent_metrics_ingest


class AgentMetricBulkView(APIView):
    """POST up to 10,000 metric rows (a JSON list, or {"rows": [...]}); all are written or none.

    201 {"inserted": n}; 400 {"error": {"code", "message", "rows": [{"index", "field", "message"}]}}.
    """

    @staticmethod
    def max_body_bytes() -> int:
        """Above the API's default (echelon.api.bodylimit): 10,000 rows with metadata are 2-3 MiB."""
        return settings.ECHELON_BULK_MAX_BODY_BYTES

    @extend_schema(
        operation_id="agent_metrics_bulk", tags=["agent-metrics"],
        summary="Record up to 10,000 metrics of agents you may change in one request", request=OpenApiTypes.OBJECT,
        responses={201: described("{inserted: n}"), 400: error_response("invalid rows; error.rows lists each offending row: index, field, message"),
                   401: ERRORS[401], 429: ERRORS[429]},
    )
    def post(self, request):
        # orjson on the raw body: DRF's parser and per-row serializers are the slow part at 10k rows.
        # Read from the stream: `request.body` would apply Django's smaller DATA_UPLOAD_MAX_MEMORY_SIZE;
        # the size was checked against max_body_bytes before the view (BodyLimitMiddleware).
        try:
            body = orjson.loads(request._request.read())
        except orjson.JSONDecodeError as exc:
            raise ParseError(f"body must be JSON: {exc}") from None
        rows = body.get("rows") if isinstance(body, dict) else body
        try:
            inserted = agent_metrics_ingest(user=request.user, rows=rows)
        except MetricRowsInvalid as exc:
            body = error_body(code="invalid", message=exc.detail)
            body["error"]["rows"] = exc.errors  # every offending row: index, field, message
            return Response(body, status=status.HTTP_400_BAD_REQUEST)
        return Response({"inserted": inserted}, status=status.HTTP_201_CREATED)


class AgentMetricAggregateView(APIView):
    """GET ?metric_type=&agent=&bucket=minute|hour|day&from=&to= → count/avg/min/max/p95 per bucket."""

    @extend_schema(
        operation_id="agent_metrics_aggregate", tags=["agent-metrics"],
        summary="A metric per time bucket (count, average, minimum, maximum) for an agent or all you read",
        parameters=[
            OpenApiParameter("metric_type", str, enum=MetricType.values, required=True),
            OpenApiParameter("agent", OpenApiTypes.UUID),
            OpenApiParameter("bucket", str, enum=list(BUCKETS)),
            OpenApiParameter("from", OpenApiTypes.DATETIME), OpenApiParameter("to", OpenApiTypes.DATETIME),
        ],
        responses={200: described("count, avg, min, max, p95 per bucket"), 400: ERRORS[400], 401: ERRORS[401],
                   404: ERRORS[404], 429: ERRORS[429]},
    )
    def get(self, request):
        params = request.query_params
        metric_type = choice(params, "metric_type", MetricType.values)
        bucket = choice(params, "bucket", BUCKETS, default="hour")
        agent_id = optional_uuid(params, "agent")
        since, until = window(params, bucket)
        if agent_id is not None:
            if not policy_for(Agent).visible_to(request.user).filter(pk=agent_id).exists():
                raise NotFound("agent: no such agent")
            request._request.metered_agent_id = agent_id  # the usage row names the agent
        buckets = agent_metric_aggregates(
            user=request.user, metric_type=metric_type, bucket=bucket, since=since, until=until, agent_id=agent_id
        )
        return Response({
            "metric_type": metric_type, "agent": None if agent_id is None else str(agent_id), "bucket": bucket,
            "from": since, "to": until, "buckets": buckets,
        })


class ApiUsageSummaryView(APIView):
    """GET ?bucket=day|hour&from=&to= → the caller's API usage per bucket (superusers: everyone's)."""

    @extend_schema(
        operation_id="api_usage_summary", tags=["api-usage"],
        summary="Your API usage per hour or day: requests, cost, by endpoint and agent",
        parameters=[
            OpenApiParameter("bucket", str, enum=["hour", "day"]),
            OpenApiParameter("from", OpenApiTypes.DATETIME), OpenApiParameter("to", OpenApiTypes.DATETIME),
        ],
        responses={200: described("requests, errors, p50/p95 and cost per bucket, by endpoint and agent"),
                   400: ERRORS[400], 401: ERRORS[401], 429: ERRORS[429]},
    )
    def get(self, request):
        params = request.query_params
        bucket = choice(params, "bucket", ("hour", "day"), default="day")
        since, until = window(params, bucket)
        buckets = api_usage_summary(user=request.user, bucket=bucket, since=since, until=until)
        return Response({"bucket": bucket, "from": since, "to": until, "buckets": buckets})
