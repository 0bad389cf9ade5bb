"""Access policy for notifications (recipient only) and agent thoughts (as their agent)."""

from __future__ import annotations

from django.db.models import Q

from echelon.columns import Columns
from agents.policies import ThroughAgentPolicy
from echelon.policy import Audience, RowPolicy, ids, register
from notifications.models import AgentThought, Notification


@register
class NotificationPolicy(RowPolicy):
    model = Notification
    # Sent by the server; the recipient only marks them read (operators too: a notification
    # written by hand would name an event that did not happen).
    columns = Columns(writable={"read_at"})

    def readers(self, user) -> Q:
        return Q(user=user.pk)

    def audience(self, row) -> Audience:
        return Audience(user_ids=ids(row.user_id))


@register
class AgentThoughtPolicy(ThroughAgentPolicy):
    model = AgentThought
    readable_relations = ("agent", "execution")
    # Written by ingestion (the signed callback, writers' tokens) from n8n's data.
    columns = Columns(writable={"agent_id", "execution_id", "node_id", "node_type", "content", "metadata",
                                "parent_node_id", "confidence_score", "processing_time_ms"},
                      ingested=True)
