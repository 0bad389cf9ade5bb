"""Access policy for notifications (recipient only) and agent thoughts (as their agent)."""

from __future__ import annotations

from django.db.models import Q

from echelon.policy import Audience, RowPolicy, _ids, register
from notifications.models import AgentThought, Notification
from workflows.policies import _ThroughAgent


@register
class NotificationPolicy(RowPolicy):
    model = Notification

    def readers(self, user) -> Q:
        return Q(user=user.pk)

    def audience(self, row) -> Audience:
        return Audience(user_ids=_ids(row.user_id))


@register
class AgentThoughtPolicy(_ThroughAgent):
    model = AgentThought
