"""Pull executions from n8n into `workflow_executions` (`manage.py sync_n8n`).

Per linked workflow, three passes, each execution recorded by `execution_record` in its own
short transaction (no transaction spans an HTTP call):

1. the normal list, newest first, page by page, stopping after the page that reaches the
   highest execution id already stored for the workflow (so a run every minute reads one page;
   ids missing inside that page are filled too). Executions not yet stored as finished are
   fetched with `includeData=true` for their input, output and error;
2. `status=running`, which n8n leaves out of the normal list;
3. every row still running or waiting that neither pass touched, fetched one by one.

Running it twice, or two runs at once, is harmless: the upsert is idempotent and counters only
move when an execution first becomes final.

Only executions of the workflow's own n8n workflow are recorded: an execution whose
`workflowId` is another one (e.g. an id a signed callback reported, fetched by pass 3) is
skipped and counted in `foreign`, so no workflow receives another tenant's run data.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.db.models import BigIntegerField, Max
from django.db.models.functions import Cast

from workflows.models import ExecutionStatus, Workflow, WorkflowExecution
from workflows.n8n.client import N8nClient, N8nError, N8nNotFound, N8nUnauthorized
from workflows.services.executions import FINAL, execution_record, report_from_n8n

log = logging.getLogger(__name__)

# pg_try_advisory_lock key of the sync, so overlapping cron runs skip instead of doubling work.
SYNC_LOCK_KEY = 0x6E386E5F73796E63  # "n8n_sync"


@dataclass
class SyncReport:
    workflows: int = 0
    listed: int = 0
    created: int = 0
    updated: int = 0
    finished: int = 0
    refreshed: int = 0
    missing: int = 0
    foreign: int = 0
    errors: list[str] = field(default_factory=list)

    def add(self, result) -> None:
        if result.created:
            self.created += 1
        else:
            self.updated += 1
        if result.became_final:
            self.finished += 1


def _last_seen_id(workflow: Workflow) -> int | None:
    """Highest numeric n8n execution id stored for the workflow (n8n ids grow monotonically)."""
    return (
        WorkflowExecution.objects.filter(workflow=workflow, execution_id__regex=r"^[0-9]{1,18}$")
        .aggregate(last=Max(Cast("execution_id", BigIntegerField())))["last"]
    )


def _known_statuses(workflow: Workflow, ids: Iterable[str]) -> dict[str, str]:
    return dict(
        WorkflowExecution.objects.filter(workflow=workflow, execution_id__in=list(ids)).values_list(
            "execution_id", "status"
        )
    )


def _reaches(ids: list[str], last_seen: int | None) -> bool:
    return last_seen is not None and any(i.isdigit() and int(i) <= last_seen for i in ids)


def _record(workflow: Workflow, payload: dict, report: SyncReport) -> None:
    """Record one execution as n8n returned it, if it is one of the workflow's own."""
    if str(payload.get("workflowId")) != workflow.n8n_workflow_id:
        report.foreign += 1
        log.warning("sync: n8n execution %s belongs to n8n workflow %r, not to %r; skipped",
                    payload.get("id"), payload.get("workflowId"), workflow.n8n_workflow_id)
        return
    report.add(execution_record(workflow=workflow, report=report_from_n8n(payload)))


def sync_workflow(*, client: N8nClient, workflow: Workflow, report: SyncReport, page_size: int = 100) -> None:
    n8n_id = workflow.n8n_workflow_id
    last_seen = _last_seen_id(workflow)
    touched: set[str] = set()
    for page in client.iter_execution_pages(workflow_id=n8n_id, limit=page_size):
        ids = [str(item["id"]) for item in page]
        report.listed += len(ids)
        known = _known_statuses(workflow, ids)
        for execution_id in ids:
            if known.get(execution_id) in FINAL:
                continue
            _record(workflow, client.get_execution(execution_id, include_data=True), report)
            touched.add(execution_id)
        if _reaches(ids, last_seen):
            break
    for page in client.iter_execution_pages(workflow_id=n8n_id, status="running", limit=page_size):
        report.listed += len(page)
        known = _known_statuses(workflow, [str(item["id"]) for item in page])
        for item in page:
            execution_id = str(item["id"])
            if known.get(execution_id) in FINAL:
                continue
            _record(workflow, item, report)
            touched.add(execution_id)
    unfinished = (
        WorkflowExecution.objects.filter(workflow=workflow, status__in=[ExecutionStatus.RUNNING, ExecutionStatus.WAITING])
        .exclude(execution_id__in=touched).exclude(execution_id__isnull=True)
        .values_list("execution_id", flat=True)
    )
    for execution_id in list(unfinished):
        try:
            detail = client.get_execution(execution_id, include_data=True)
        except N8nNotFound:
            report.missing += 1  # deleted in n8n (pruned): left as it is
            continue
        report.refreshed += 1
        _record(workflow, detail, report)


def n8n_sync(*, client: N8nClient, page_size: int = 100,
             progress: Callable[[list[Workflow]], Iterable[Workflow]] | None = None) -> SyncReport:
    """Sync every workflow linked to n8n; one workflow's failure does not stop the others.

    A 401 stops the run at once (every further call would fail the same way).
    """
    workflows = list(
        Workflow.objects.exclude(n8n_workflow_id__isnull=True).exclude(n8n_workflow_id="").order_by("created_at")
    )
    report = SyncReport()
    for workflow in progress(workflows) if progress else workflows:
        try:
            sync_workflow(client=client, workflow=workflow, report=report, page_size=page_size)
        except N8nUnauthorized:
            raise
        except N8nError as exc:
            log.warning("sync of workflow %s (n8n %s) failed: %s", workflow.pk, workflow.n8n_workflow_id, exc)
            report.errors.append(f"{workflow.name} ({workflow.n8n_workflow_id}): {exc}")
            continue
        report.workflows += 1
    return report
