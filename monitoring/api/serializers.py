"""Serializers for agent metrics and API usage (read-only through this API)."""

from __future__ import annotations

from rest_framework import serializers

from echelon.api.serializers import ModelSerializer
from monitoring.models import AgentMetric, ApiUsage


class AgentMetricSerializer(ModelSerializer):
    class Meta:
        model = AgentMetric
        fields = ["id", "agent", "metric_type", "value", "unit", "metadata", "recorded_at"]
        read_only_fields = fields


class ApiUsageSerializer(ModelSerializer):
    class Meta:
        model = ApiUsage
        fields = ["id", "agent", "endpoint", "method", "status_code", "response_time_ms", "cost_usd", "created_at"]
        read_only_fields = fields
