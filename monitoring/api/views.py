"""REST endpoints for agent metrics and API usage (both read-only for users here)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_view

from echelon.api.pagination import TimeSeriesPagination
from echelon.api.viewsets import TIME_SERIES_FILTERS, ReadOnlyPolicyViewSet
from monitoring.api.filters import AgentMetricFilterSet, ApiUsageFilterSet
from monitoring.api.serializers import AgentMetricSerializer, ApiUsageSerializer
from monitoring.models import AgentMetric, ApiUsage


@extend_schema_view(list=extend_schema(summary="Metrics of agents you may read (cursor pages)."))
class AgentMetricViewSet(ReadOnlyPolicyViewSet):
    queryset = AgentMetric.objects.all()
    serializer_class = AgentMetricSerializer
    filterset_class = AgentMetricFilterSet
    pagination_class = TimeSeriesPagination
    cursor_ordering = ("-recorded_at", "-id")
    filter_backends = TIME_SERIES_FILTERS


@extend_schema_view(list=extend_schema(summary="Your API usage records (cursor pages)."))
class ApiUsageViewSet(ReadOnlyPolicyViewSet):
    """The system records usage; each user reads their own."""

    queryset = ApiUsage.objects.all()
    serializer_class = ApiUsageSerializer
    filterset_class = ApiUsageFilterSet
    pagination_class = TimeSeriesPagination
    cursor_ordering = ("-created_at", "-id")
    filter_backends = TIME_SERIES_FILTERS
