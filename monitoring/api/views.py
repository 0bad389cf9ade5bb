"""Monitoring endpoints: thin views over `monitoring.services` and `monitoring.selectors`."""

from __future__ import annotations

import orjson
from rest_framework import status
from rest_framework.exceptions import NotFound, ParseError
from rest_framework.response import Response
from rest_framework.views import APIView

from agents.models import Agent
from echelon.policy import policy_for
from monitoring.api.params import choice, optional_uuid, window
from monitoring.models import MetricType
from monitoring.selectors import BUCKETS, agent_metric_aggregates, api_usage_summary
from monitoring.services import MetricRowsInvalid, agent_metrics_ingest


class AgentMetricBulkView(APIView):
    """POST up to 10,000 metric rows (a JSON list, or {"rows": [...]}); all are written or none.

    201 {"inserted": n}; 400 {"detail", "errors": [{"index", "field", "message"}]}.
    """

    def post(self, request):
        # orjson on the raw body: DRF's parser and per-row serializers are the slow part at 10k rows.
        try:
            body = orjson.loads(request.body)
        except orjson.JSONDecodeError as exc:
            raise ParseError(f"body must be JSON: {exc}") from None
        rows = body.get("rows") if isinstance(body, dict) else body
        try:
            inserted = agent_metrics_ingest(user=request.user, rows=rows)
        except MetricRowsInvalid as exc:
            return Response({"detail": exc.detail, "errors": exc.errors}, status=status.HTTP_400_BAD_REQUEST)
        return Response({"inserted": inserted}, status=status.HTTP_201_CREATED)


class AgentMetricAggregateView(APIView):
    """GET ?metric_type=&agent=&bucket=minute|hour|day&from=&to= → count/avg/min/max/p95 per bucket."""

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
            "from": since.isoformat(), "to": until.isoformat(), "buckets": buckets,
        })


class ApiUsageSummaryView(APIView):
    """GET ?bucket=day|hour&from=&to= → the caller's API usage per bucket (superusers: everyone's)."""

    def get(self, request):
        params = request.query_params
        bucket = choice(params, "bucket", ("hour", "day"), default="day")
        since, until = window(params, bucket)
        buckets = api_usage_summary(user=request.user, bucket=bucket, since=since, until=until)
        return Response({"bucket": bucket, "from": since.isoformat(), "to": until.isoformat(), "buckets": buckets})
