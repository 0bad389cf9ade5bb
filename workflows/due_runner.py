"""Scheduled deployments inside `manage.py serve`: a thread that runs the due ones.

`make run` has no cron, so `serve` starts this thread (every 30 s; `--due-interval 0` turns it
off). Where cron runs `manage.py run_due_deployments` or `sync_n8n`, both may run at once:
each deployment is claimed under a row lock and runs once (workflows.services.deployments).
"""

from __future__ import annotations

import logging
import threading

from django.db import connection

from workflows.services import deployments_run_due

log = logging.getLogger(__name__)


class DueDeploymentRunner(threading.Thread):
    """Runs `deployments_run_due` every `interval` seconds until `stop()`."""

    def __init__(self, interval: float = 30.0):
        super().__init__(name="due-deployments", daemon=True)
        self.interval = interval
        self._stopped = threading.Event()

    def run(self) -> None:
        while not self._stopped.wait(self.interval):
            self.run_once()

    def run_once(self) -> int:
        """How many deployments this round ran; errors are logged and the next round retries
        (the database may be restarting)."""
        try:
            ran = deployments_run_due()
            if ran:
                log.info("Ran %d scheduled deployment(s) that were due", len(ran))
            return len(ran)
        except Exception:
            log.exception("Running due scheduled deployments failed; retrying in %s s", self.interval)
            return 0
        finally:
            connection.close()  # this thread's own connection; a fresh one next round

    def stop(self) -> None:
        self._stopped.set()
