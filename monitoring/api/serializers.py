"""Serializers for agent metrics and API usage (read-only through this API)."""

from __future__ import annotations


from echelon.api.serializers import ModelSerializer
from monitoring.models import AgentMetric, ApiUsage


class AgentMetricSerializer(ModelSerializer):
    class Meta:
        model = AgentMetric


class ApiUsageSerializer(ModelSerializer):
    class Meta:
        model = ApiUsage
