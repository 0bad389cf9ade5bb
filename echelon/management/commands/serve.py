"""`manage.py serve`: migrate, load the demo data, print the admin login, serve with daphne,
with a task-queue worker beside it (n8n calls, scheduled deployments, the n8n pass, purges).

This is what `make run` runs (inside the embedded-PostgreSQL wrapper when DATABASE_URL is
unset). Each step is idempotent, so a second run reuses everything and serves within seconds.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from django.core.management import call_command
from django.core.management.base import BaseCommand

# The task queue's worker (workflows/tasks.py), as `make serve` starts it too; finished jobs are
# deleted (the periodic ones alone would add 4,320 rows a day), failed ones kept for inspection.
WORKER_ARGV = [sys.executable, str(Path(__file__).resolve().parents[3] / "manage.py"), "procrastinate", "worker",
               "--delete-jobs", "successful"]


class Command(BaseCommand):
    help = "Migrate, load demo data, and serve HTTP + websockets with daphne."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--no-demo", action="store_true", help="skip the demo data")
        parser.add_argument("--no-worker", action="store_true",
                            help="no task-queue worker (deploy/stop then wait for one started elsewhere)")

    def handle(self, *args, host, port, no_demo, no_worker, **options):
        call_command("migrate", interactive=False, verbosity=0)
        if not no_demo:
            call_command("seed_demo", admin_url=f"http://{host}:{port}/admin/")
        self.stdout.write(self.style.SUCCESS(f"Echelon on http://{host}:{port}/  (admin: /admin/, API: /api/docs/)"))
        from echelon.auth.tokens import anon_key  # at call time: echelon.serving imports this module before django.setup()

        # supabase-js: createClient(url, anon key); `manage.py anon_key` prints it too (docs/supabase.md)
        self.stdout.write(f"Supabase URL: http://{host}:{port}  anon key: {anon_key()}")
        self.stdout.write("Ctrl-C stops the server and the embedded PostgreSQL.")
        worker = None if no_worker else subprocess.Popen(WORKER_ARGV)
        from realtime import relay

        relay.start_in_background()  # notifications and pushes from the first write on, not the first request
        try:
            daphne_cli().run(["--bind", host, "--port", str(port), "echelon.asgi:application"])
        finally:
            if worker is not None:
                worker.terminate()  # procrastinate finishes the jobs in progress, then exits
                try:
                    worker.wait(30)
                except subprocess.TimeoutExpired:
                    worker.kill()


def daphne_cli():
    """Daphne's command line, its access log redacting secrets in query strings."""
    from daphne.cli import CommandLineInterface
    from daphne.server import Server

    from echelon.redaction import RedactingAccessLog

    class RedactingServer(Server):
        def __init__(self, *args, action_logger=None, **kwargs):
            if action_logger is not None:
                action_logger = RedactingAccessLog(action_logger.stream)
            super().__init__(*args, action_logger=action_logger, **kwargs)

    cli = CommandLineInterface()
    cli.server_class = RedactingServer
    return cli
