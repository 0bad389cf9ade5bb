"""Agent state changes. Every status change in Echelon goes through `agent_set_status`."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from agents.models import Agent, AgentStatus
from agents.signals import agent_status_changed


@transaction.atomic
def agent_set_status(*, agent: Agent, status: str, actor=None) -> bool:
    """Set `agent.status`; return True when it changed.

    Locks the row so concurrent changes are serialized and each real change is seen once;
    sends `agent_status_changed` in the same transaction (its receivers, e.g. the seed's
    notification, roll back with it). No change, no signal.
    """
    if status not in AgentStatus.values:
        raise ValueError(f"Unknown agent status {status!r}; expected one of {', '.join(AgentStatus.values)}")
    locked = Agent.objects.select_for_update().get(pk=agent.pk)
    old_status = locked.status
    if old_status == status:
        agent.status = status
        return False
    locked.status = status
    locked.last_activity = timezone.now()
    locked.save(update_fields=["status", "last_activity"])
    agent.status, agent.updated_at, agent.last_activity = locked.status, locked.updated_at, locked.last_activity
    agent_status_changed.send(
        sender=Agent, agent=locked, old_status=old_status, new_status=status, actor=actor
    )
    return True
