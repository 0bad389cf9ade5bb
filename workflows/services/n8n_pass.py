"""One n8n pass: reconcile the deployments with n8n's active flags, then sync the executions.

Run every minute by the task queue (workflows/tasks.py) and by `manage.py sync_n8n`. A session
advisory lock makes overlapping passes (several servers, cron beside the queue) skip instead of
doubling the work. `N8nPassFailed` carries a one-line reason when n8n could not be reached or
refused (the command exits non-zero with it, so cron notices an outage).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.db import connection

from workflows.n8n.backends import n8n_reason
from workflows.n8n.client import N8nClient, N8nError
from workflows.services.reconcile import ReconcileReport, reconcile
from workflows.services.sync import SYNC_LOCK_KEY, SyncReport, n8n_sync


class N8nPassFailed(Exception):
    """n8n could not be reached or refused; `str()` is a one-line reason."""


@dataclass
class PassReport:
    skipped: bool = False
    reconcile: ReconcileReport = field(default_factory=ReconcileReport)
    sync: SyncReport = field(default_factory=SyncReport)

    @property
    def errors(self) -> list[str]:
        return self.reconcile.errors + self.sync.errors


def n8n_pass(*, client: N8nClient, page_size: int = 100, stale_after=None,
             progress: Callable[[list], Iterable] | None = None) -> PassReport:
    """Reconcile then sync; raises N8nPassFailed when n8n's answers made the pass impossible."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [SYNC_LOCK_KEY])
        if not cursor.fetchone()[0]:
            return PassReport(skipped=True)
    try:
        report = PassReport()
        try:
            report.reconcile = reconcile(client=client, stale_after=stale_after)
            report.sync = n8n_sync(client=client, page_size=page_size, progress=progress)
        except N8nError as exc:
            raise N8nPassFailed(f"n8n could not be reached or refused: {n8n_reason(exc)}") from exc
        return report
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [SYNC_LOCK_KEY])


def pass_failure(report: PassReport) -> str | None:
    """A one-line reason when the pass finished but not everything could be synced or repaired."""
    if not report.errors:
        return None
    return f"{len(report.errors)} n8n call(s) failed, first: {report.errors[0]}"
