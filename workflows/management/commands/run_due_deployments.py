"""`manage.py run_due_deployments`: run the scheduled deployments whose `run_at` has come.

Safe every minute from cron, also beside `sync_n8n` (which runs them too) and on several hosts:
each deployment is claimed under a row lock, so it runs once.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand

from workflows.services import deployments_run_due


class Command(BaseCommand):
    help = "Run the scheduled deployments that are due (trigger_config.run_at in the past)."

    def handle(self, *args, **options):
        ran = deployments_run_due()
        failed = [deployment for deployment in ran if deployment.status == "failed"]
        self.stdout.write(f"Ran {len(ran)} scheduled deployment(s): {len(ran) - len(failed)} deployed, "
                          f"{len(failed)} failed.")
        for deployment in failed:
            self.stderr.write(f"Deployment {deployment.pk} (v{deployment.version}) failed: {deployment.error_message}")
