"""Notification writes: creating them for users and marking them read."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from notifications.models import Notification, Priority
from notifications.realtime.publisher import UPDATE, publish_rows


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
    publish_rows(Notification, pks, UPDATE)  # update() sends no signals
    return count
