"""REST endpoints for agent metrics and API usage (read-only rows for users), with the actions
beyond CRUD: bulk metric ingestion, aggregates and the usage summary.

Thin actions over `monitoring.services` and `monitoring.selectors`."""

from __future__ import annotations

import orjson
from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ParseError
from rest_framework.response import Response

from agents.models import Agent
from echelon.api.pagination import TimeSeriesPagination
from echelon.api.viewsets import TIME_SERIES_FILTERS, ReadOnlyPolicyViewSet
from echelon.openapi import ERRORS, described, error as error_response
from echelon.policy import policy_for
from monitoring.api.filters import AgentMetricFilterSet, ApiUsageFilterSet
from monitoring.api.params import choice, optional_uuid, window
from monitoring.api.serializers import AgentMetricSerializer, ApiUsageSerializer
from monitoring.models import AgentMetric, ApiUsage, MetricType
from monitoring.selectors import BUCKETS, agent_metric_aggregates, api_usage_summary
from monitoring.services import agent_metrics_ingest


def bulk_body_limit() -> int:
    """Above the API's default (echelon.api.bodylimit): 10,000 rows with metadata are 2-3 MiB."""
    return settings.ECHELON_BULK_MAX_BODY_BYTES


@extend_schema_view(list=extend_schema(summary="Metrics of agents you may read (cursor pages)."))
class AgentMetricViewSet(ReadOnlyPolicyViewSet):
    queryset = AgentMetric.objects.all()
    serializer_class = AgentMetricSerializer
    filterset_class = AgentMetricFilterSet
    pagination_class = TimeSeriesPagination
    cursor_ordering = ("-recorded_at", "-id")
    filter_backends = TIME_SERIES_FILTERS
    max_body_bytes = None  # per action (`bulk`), read by echelon.api.bodylimit before the view

    @extend_schema(
        operation_id="agent_metrics_bulk", summary="Write up to 10,000 metric rows (a JSON list, or "
        "{rows: [...]}); all are written or none.", request=OpenApiTypes.OBJECT,
        responses={201: described("{inserted: n}"),
                   400: error_response("invalid rows; error.rows lists each offending row: index, field, message"),
                   401: ERRORS[401], 429: ERRORS[429]},
    )
    @action(detail=False, methods=["post"], filter_backends=[], pagination_class=None,
            max_body_bytes=bulk_body_limit)
    def bulk(self, request):
        # orjson on the raw body: DRF's parser and per-row serializers are the slow part at 10k rows.
        # Read from the stream: `request.body` would apply Django's smaller DATA_UPLOAD_MAX_MEMORY_SIZE;
        # the size was checked against the action's limit before the view (BodyLimitMiddleware).
        try:
            body = orjson.loads(request._request.read())
        except orjson.JSONDecodeError as exc:
            raise ParseError(f"body must be JSON: {exc}") from None
        rows = body.get("rows") if isinstance(body, dict) else body
        inserted = agent_metrics_ingest(user=request.user, rows=rows)  # MetricRowsInvalid: a 400 with error.rows
        return Response({"inserted": inserted}, status=status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="agent_metrics_aggregate", summary="count, avg, min, max and p95 per time bucket.",
        parameters=[
            OpenApiParameter("metric_type", str, enum=MetricType.values, required=True),
            OpenApiParameter("agent", OpenApiTypes.UUID),
            OpenApiParameter("bucket", str, enum=list(BUCKETS)),
            OpenApiParameter("from", OpenApiTypes.DATETIME), OpenApiParameter("to", OpenApiTypes.DATETIME),
        ],
        responses={200: described("count, avg, min, max, p95 per bucket"), 400: ERRORS[400], 401: ERRORS[401],
                   404: ERRORS[404], 429: ERRORS[429]},
        filters=False,
    )
    @action(detail=False, methods=["get"], filter_backends=[], pagination_class=None)
    def aggregate(self, request):
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


@extend_schema_view(list=extend_schema(summary="Your API usage records (cursor pages)."))
class ApiUsageViewSet(ReadOnlyPolicyViewSet):
    """The system records usage; each user reads their own."""

    queryset = ApiUsage.objects.all()
    serializer_class = ApiUsageSerializer
    filterset_class = ApiUsageFilterSet
    pagination_class = TimeSeriesPagination
    cursor_ordering = ("-created_at", "-id")
    filter_backends = TIME_SERIES_FILTERS

    @extend_schema(
        operation_id="api_usage_summary", summary="Your API usage per bucket (superusers: everyone's).",
        parameters=[
            OpenApiParameter("bucket", str, enum=["hour", "day"]),
            OpenApiParameter("from", OpenApiTypes.DATETIME), OpenApiParameter("to", OpenApiTypes.DATETIME),
        ],
        responses={200: described("requests, errors, p50/p95 and cost per bucket, by endpoint and agent"),
                   400: ERRORS[400], 401: ERRORS[401], 429: ERRORS[429]},
        filters=False,
    )
    @action(detail=False, methods=["get"], filter_backends=[], pagination_class=None)
    def summary(self, request):
        params = request.query_params
        bucket = choice(params, "bucket", ("hour", "day"), default="day")
        since, until = window(params, bucket)
        buckets = api_usage_summary(user=request.user, bucket=bucket, since=since, until=until)
        return Response({"bucket": bucket, "from": since, "to": until, "buckets": buckets})
