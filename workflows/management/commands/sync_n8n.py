"""`manage.py sync_n8n`: one n8n pass by hand or from cron (the task queue runs it every minute).

Runs the due scheduled deployments, then reconciles deployments with n8n and syncs executions
(workflows.services.n8n_pass). Exits non-zero with a one-line reason when n8n could not be
reached, refused (401), or some calls failed, so cron notices an outage.
"""

from __future__ import annotations

import sys

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from workflows.n8n.client import N8nClient, N8nError
from workflows.services.deployments import deployments_run_due
from workflows.services.n8n_pass import N8nPassFailed, n8n_pass, pass_failure


class Command(BaseCommand):
    help = "Reconcile deployments with n8n and sync executions of every linked workflow (N8N_BASE_URL, N8N_API_KEY)."

    def add_arguments(self, parser):
        parser.add_argument("--page-size", type=int, default=100, help="executions per n8n page (max 250)")
        parser.add_argument("--progress", action="store_true", help="show a progress bar even without a TTY")

    def handle(self, *args, page_size: int, progress: bool, **options):
        try:
            client = N8nClient.from_settings()
        except N8nError as exc:
            raise CommandError(f"{exc}: set N8N_BASE_URL and N8N_API_KEY") from exc
        show = progress or sys.stdout.isatty()
        scheduled = deployments_run_due()
        if scheduled:
            self.stdout.write(f"Ran {len(scheduled)} scheduled deployment(s) that were due.")
        try:
            with client:
                report = n8n_pass(client=client, page_size=page_size, progress=(
                    (lambda rows: tqdm(rows, desc="n8n workflows", unit="wf")) if show else None))
        except N8nPassFailed as exc:
            raise CommandError(str(exc)) from exc
        if report.skipped:
            self.stdout.write("Another sync_n8n is running; nothing to do.")
            return
        r, s = report.reconcile, report.sync
        self.stdout.write(
            f"Reconciled {r.agents} agent(s): {r.resolved} deployment(s) resolved, {r.republished} republished, "
            f"{r.unpublished} unpublished, {r.workflow_status_changes} workflow status change(s).")
        self.stdout.write(
            f"Synced {s.workflows} workflow(s): {s.listed} listed, {s.created} new, "
            f"{s.updated} updated, {s.finished} finished, {s.refreshed} refreshed, "
            f"{s.missing} missing in n8n, {s.reused} reused ids, {s.foreign} of other workflows skipped, "
            f"{len(s.errors)} error(s).")
        for error in report.errors:
            self.stderr.write(error)
        failure = pass_failure(report)
        if failure:
            raise CommandError(failure)
