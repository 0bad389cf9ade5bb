"""The seed's trigger functions, as receivers of captured changes (realtime.signals.row_changed).

`notify_agent_status_change` runs for every committed change of `agents.status` by any writer
(a service, `queryset.update()`, the admin, psql), inside the relay's batch: its notification
commits with the relay's progress, so it is written exactly once, and never for a write that
rolled back (that one was never captured).
"""

from __future__ import annotations

from django.dispatch import receiver

from agents.models import Agent
from notifications.models import NotificationType, Priority
from notifications.services import notification_create
from realtime.signals import CapturedChange, row_changed

STATUS_PRIORITY = {"error": Priority.HIGH, "active": Priority.MEDIUM}
_OWNER = Agent._meta.get_field("created_by").column


@receiver(row_changed, sender=Agent, dispatch_uid="notify_agent_status_change")
def notify_agent_status_change(sender, *, change: CapturedChange, **kwargs):
    """The seed's `notify_agent_status_change()`: tell the owner about every real change."""
    if not change.changed("status"):
        return
    agent, old_status, new_status = change.record, change.old_record["status"], change.record["status"]
    if agent.get(_OWNER) is None:
        return
    notification_create(
        user_id=agent[_OWNER],
        type=NotificationType.AGENT_STATUS_CHANGE,
        title="Agent Status Updated",
        message=f'Agent "{agent["name"]}" status changed from {old_status} to {new_status}',
        data={"agent_id": str(agent["id"]), "old_status": old_status, "new_status": new_status},
        priority=STATUS_PRIORITY.get(new_status, Priority.LOW),
    )
