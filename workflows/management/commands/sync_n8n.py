"""`manage.py sync_n8n`: pull n8n executions into Echelon; safe to run every minute from cron."""

from __future__ import annotations

import sys

from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from tqdm import tqdm

from workflows.n8n.client import N8nClient, N8nError
from workflows.services.deployments import deployments_fail_interrupted, deployments_run_due
from workflows.services.sync import SYNC_LOCK_KEY, n8n_sync


class Command(BaseCommand):
    help = "Sync executions of every workflow linked to n8n (N8N_BASE_URL, N8N_API_KEY)."

    def add_arguments(self, parser):
        parser.add_argument("--page-size", type=int, default=100, help="executions per n8n page (max 250)")
        parser.add_argument("--progress", action="store_true", help="show a progress bar even without a TTY")

    def handle(self, *args, page_size: int, progress: bool, **options):
        try:
            client = N8nClient.from_settings()
        except N8nError as exc:
            raise CommandError(f"{exc}: set N8N_BASE_URL and N8N_API_KEY") from exc
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [SYNC_LOCK_KEY])
            if not cursor.fetchone()[0]:
                self.stdout.write("Another sync_n8n is running; nothing to do.")
                return
        show = progress or sys.stdout.isatty()
        try:
            interrupted = deployments_fail_interrupted()
            if interrupted:
                self.stdout.write(f"Failed {interrupted} interrupted deployment(s) stuck in deploying.")
            scheduled = deployments_run_due()
            if scheduled:
                self.stdout.write(f"Ran {len(scheduled)} scheduled deployment(s) that were due.")
            with client:
                report = n8n_sync(
                    client=client, page_size=page_size,
                    progress=(lambda rows: tqdm(rows, desc="n8n workflows", unit="wf")) if show else None,
                )
        except N8nError as exc:
            raise CommandError(f"n8n refused the sync: {exc}") from exc
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [SYNC_LOCK_KEY])
        self.stdout.write(
            f"Synced {report.workflows} workflow(s): {report.listed} listed, {report.created} new, "
            f"{report.updated} updated, {report.finished} finished, {report.refreshed} refreshed, "
            f"{report.missing} missing in n8n, {report.foreign} of other workflows skipped, "
            f"{len(report.errors)} error(s)."
        )
        for error in report.errors:
            self.stderr.write(error)
