"""Receivers that turn domain signals into notifications (the seed's trigger functions)."""

from __future__ import annotations

from django.dispatch import receiver

from agents.signals import agent_status_changed
from notifications.models import NotificationType, Priority
from notifications.services import notification_create

STATUS_PRIORITY = {"error": Priority.HIGH, "active": Priority.MEDIUM}


@receiver(agent_status_changed, dispatch_uid="notify_agent_status_change")
def notify_agent_status_change(sender, *, agent, old_status, new_status, **kwargs):
    """The seed's `notify_agent_status_change()`: tell the owner about every real change."""
    if agent.created_by_id is None:
        return
    notification_create(
        user_id=agent.created_by_id,
        type=NotificationType.AGENT_STATUS_CHANGE,
        title="Agent Status Updated",
        message=f'Agent "{agent.name}" status changed from {old_status} to {new_status}',
        data={"agent_id": str(agent.pk), "old_status": old_status, "new_status": new_status},
        priority=STATUS_PRIORITY.get(new_status, Priority.LOW),
    )
