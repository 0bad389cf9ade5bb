"""Notification writes: creating them for users and marking them read."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from notifications.models import Notification, NotificationType, Priority


def notification_create(*, user_id, type: str, title: str, message: str, data: dict | None = None,
                        priority: str = Priority.MEDIUM, expires_at=None) -> Notification:
    """Create one notification for `user_id` (inside the caller's transaction)."""
    return Notification.objects.create(
        user_id=user_id, type=type, title=title, message=message, data=data or {},
        priority=priority, expires_at=expires_at,
    )


@transaction.atomic
def notifications_mark_read(*, user, ids=None) -> int:
    """Mark the user's unread notifications read (all, or those in `ids`); return how many."""
    rows = Notification.objects.filter(user=user).unread()
    if ids is not None:
        rows = rows.filter(pk__in=ids)
    pks = list(rows.select_for_update().values_list("pk", flat=True))
    count = Notification.objects.filter(pk__in=pks).update(read_at=timezone.now())
    return count


def notify_deployment_outcome(*, deployment, agent) -> Notification | None:
    """`deployment_success` or `deployment_failed` (with n8n's error) for the agent's owner.

    Called by the deployment service inside the transaction that records the outcome.
    """
    if agent.created_by_id is None:
        return None
    data = {
        "agent_id": str(agent.pk), "deployment_id": str(deployment.pk), "version": deployment.version,
        "status": deployment.status,
    }
    if deployment.status == "deployed":
        data["deployment_url"] = deployment.deployment_url
        return notification_create(
            user_id=agent.created_by_id, type=NotificationType.DEPLOYMENT_SUCCESS, title="Deployment Succeeded",
            message=f'Agent "{agent.name}" version {deployment.version} is deployed', data=data,
            priority=Priority.LOW,
        )
    data["error"] = deployment.error_message
    return notification_create(
        user_id=agent.created_by_id, type=NotificationType.DEPLOYMENT_FAILED, title="Deployment Failed",
        message=f'Agent "{agent.name}" version {deployment.version} failed to deploy: {deployment.error_message}',
        data=data, priority=Priority.HIGH,
    )


def notify_execution_failed(*, execution, workflow, agent) -> Notification | None:
    """`agent_error` (high) for the owner of the agent whose execution ended in error."""
    if agent is None or agent.created_by_id is None:
        return None
    error = execution.error_data or {}
    detail = error.get("message") or error.get("n8n_status") or "unknown error"
    return notification_create(
        user_id=agent.created_by_id, type=NotificationType.AGENT_ERROR, title="Agent Execution Failed",
        message=f'Agent "{agent.name}" workflow "{workflow.name}" execution {execution.execution_id} failed: {detail}',
        data={
            "agent_id": str(agent.pk), "workflow_id": str(workflow.pk), "execution_id": str(execution.pk),
            "n8n_execution_id": execution.execution_id, "error": error,
        },
        priority=Priority.HIGH,
    )


def notifications_purge_expired(*, now=None) -> int:
    """Delete notifications whose `expires_at` has passed; return how many."""
    deleted, _ = Notification.objects.filter(expires_at__lte=now or timezone.now()).delete()
    return deleted
