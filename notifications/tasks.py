"""Periodic job of the task queue (see workflows/tasks.py): delete expired notifications hourly."""

from __future__ import annotations

from procrastinate.contrib.django import app


@app.periodic(cron="17 * * * *", periodic_id="purge-notifications")
@app.task(name="notifications.purge_expired", queueing_lock="purge_notifications")
def purge_notifications(timestamp: int) -> int:
    from notifications.services import notifications_purge_expired

    return notifications_purge_expired()
