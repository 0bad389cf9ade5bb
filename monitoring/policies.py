"""Access policy for agent metrics (as their agent) and API usage (its user only, read-only)."""

from __future__ import annotations

from django.db.models import Q

from echelon.policy import Audience, RowPolicy, _ids, register
from monitoring.models import AgentMetric, ApiUsage
from workflows.policies import _ThroughAgent


@register
class AgentMetricPolicy(_ThroughAgent):
    model = AgentMetric


@register
class ApiUsagePolicy(RowPolicy):
    """The system records usage; users only read their own."""

    model = ApiUsage

    def readers(self, user) -> Q:
        return Q(user=user.pk)

    def writers(self, user) -> Q:
        return Q(pk__in=[])

    def audience(self, row) -> Audience:
        return Audience(user_ids=_ids(row.user_id))
