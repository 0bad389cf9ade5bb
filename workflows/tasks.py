"""The task queue's jobs: n8n calls off the request path, and the periodic work (with
notifications/tasks.py, the purge of expired notifications).

The queue is procrastinate on PostgreSQL (jobs are rows of the same database, written in the
transaction that asks for them, so a rolled-back deploy queues nothing; its schema comes with
`migrate`). `make run` and `make serve` start a worker (`manage.py procrastinate worker`).

Periodic tasks are deferred by every running worker, and procrastinate records each tick once
(`procrastinate_periodic_defers` is unique per task and timestamp), so several servers run each
tick once; `queueing_lock` keeps at most one waiting job of each, and the n8n pass also holds an
advisory lock while it runs.
"""

from __future__ import annotations

import logging

from django.conf import settings
from procrastinate.contrib.django import app

log = logging.getLogger(__name__)

N8N_QUEUE = "n8n"


@app.task(name="workflows.publish_deployment", queue=N8N_QUEUE)
def publish_deployment(deployment_id: str) -> None:
    from workflows.services.deployments import deployment_publish_queued

    deployment = deployment_publish_queued(deployment_id=deployment_id)
    log.info("Deployment %s: %s", deployment_id, deployment.status if deployment else "gone")


@app.task(name="workflows.unpublish_deployment", queue=N8N_QUEUE)
def unpublish_deployment(deployment_id: str) -> None:
    from workflows.services.deployments import deployment_unpublish_queued

    deployment = deployment_unpublish_queued(deployment_id=deployment_id)
    log.info("Deployment %s: %s", deployment_id, deployment.status if deployment else "gone")


@app.periodic(cron="* * * * *", periodic_id="due-deployments")
@app.task(name="workflows.run_due_deployments", queue=N8N_QUEUE, queueing_lock="run_due_deployments")
def run_due_deployments(timestamp: int) -> int:
    from workflows.services.deployments import deployments_run_due

    return len(deployments_run_due())


@app.periodic(cron="* * * * *", periodic_id="n8n-pass")
@app.task(name="workflows.n8n_pass", queue=N8N_QUEUE, queueing_lock="n8n_pass")
def n8n_pass_task(timestamp: int) -> str:
    """Reconcile and sync when n8n is configured; an outage is logged (the next tick retries)."""
    if not settings.N8N_BASE_URL:
        return "n8n is not configured"
    from workflows.n8n.client import N8nClient
    from workflows.services.n8n_pass import N8nPassFailed, n8n_pass, pass_failure

    try:
        with N8nClient.from_settings() as client:
            report = n8n_pass(client=client)
    except N8nPassFailed as exc:
        log.warning("n8n pass: %s", exc)
        return str(exc)
    return "skipped" if report.skipped else (pass_failure(report) or "ok")
