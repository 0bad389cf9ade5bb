"""Access policy for agent metrics (as their agent) and API usage (its user only, read-only)."""

from __future__ import annotations

from django.db.models import Q

from echelon.columns import Columns
from agents.policies import ThroughAgentPolicy
from echelon.policy import Audience, RowPolicy, ids, register
from monitoring.models import AgentMetric, ApiUsage


@register
class AgentMetricPolicy(ThroughAgentPolicy):
    model = AgentMetric
    # Written by ingestion (bulk and single metrics); the id is the server's.
    columns = Columns(writable={"agent_id", "metric_type", "value", "unit", "metadata", "recorded_at"},
                      ingested=True)


@register
class ApiUsagePolicy(RowPolicy):
    """The system records usage; users only read their own."""

    model = ApiUsage
    # Recorded by the platform (the metering middleware); nobody writes it by hand.
    columns = Columns(ingested=True)

    def readers(self, user) -> Q:
        return Q(user=user.pk)

    def writers(self, user) -> Q:
        return Q(pk__in=[])

    def audience(self, row) -> Audience:
        return Audience(user_ids=ids(row.user_id))
