"""Filters for agent metrics and API usage."""

from __future__ import annotations

from django import forms
from django_filters import rest_framework as filters

from echelon.api.filters import StrictFilterSet, related_id, time_range
from monitoring.models import AgentMetric, ApiUsage, MetricType, MetricUnit

HTTP_METHODS = [(m, m) for m in ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")]


class AgentMetricFilterSet(StrictFilterSet):
    agent = related_id("agent")
    metric_type = filters.MultipleChoiceFilter(choices=MetricType.choices)
    unit = filters.MultipleChoiceFilter(choices=MetricUnit.choices)
    recorded_after, recorded_before = time_range("recorded_at", "recorded")

    class Meta:
        model = AgentMetric
        fields = ["agent", "metric_type", "unit"]


class IntegerFilter(filters.NumberFilter):
    field_class = forms.IntegerField


class ApiUsageFilterSet(StrictFilterSet):
    agent = related_id("agent")
    endpoint = filters.CharFilter(help_text="Route pattern, e.g. /api/v1/agents/{id}/.")
    method = filters.MultipleChoiceFilter(choices=HTTP_METHODS)
    # An integer: NumberFilter took 0.5 and matched nothing instead of a 400 (schemathesis).
    status_code = IntegerFilter()
    created_after, created_before = time_range("created_at", "created")

    class Meta:
        model = ApiUsage
        fields = ["agent", "endpoint", "method", "status_code"]
