"""Pull executions from n8n into `workflow_executions` (`manage.py sync_n8n`, the queue's pass).

An execution is matched on (n8n workflow id, execution id), always: n8n's ids restart after a
reset, so an id alone can name another run. One pass:

1. `status=running` once for all workflows (n8n leaves running executions out of the normal
   list), each item recorded on the workflow its `workflowId` is linked to;
2. per linked workflow, the normal list, newest first, page by page, stopping after the page that
   reaches the highest execution id already stored for the link (a run every minute reads one
   page). An execution not yet stored as finished is fetched with `includeData=true`; a finished
   one is only looked at in the list item: its times fill what is empty or came from Echelon's
   clock (no detail fetch), and an id whose new run started after the stored run ended (n8n was
   reset) retires the stored row under `<id>@<its start>` so the new run gets its own row;
3. rows of the link still running or waiting that neither touched, fetched one by one: n8n
   answering 404, or the id now naming another workflow's run, marks the row `missing_at`
   (pruned or reset) once, and it is not fetched again.

Running it twice, or two runs at once, is harmless: the upsert is idempotent and counters only
move when an execution first becomes final. Only executions of the workflow's own n8n workflow
are recorded (another `workflowId` is counted in `foreign`), so no workflow receives another
tenant's run data. An idle pass over N linked workflows costs N + 1 list requests and no detail
fetch (tests/lifecycle/test_sync.py counts them).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta

from django.db.models import BigIntegerField, Max
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from workflows.models import ExecutionStatus, Workflow, WorkflowExecution
from workflows.n8n.client import N8nClient, N8nError, N8nNotFound, N8nUnauthorized
from workflows.services.executions import FINAL, execution_record, report_from_n8n

log = logging.getLogger(__name__)

# pg_try_advisory_lock key of the sync, so overlapping runs skip instead of doubling work.
SYNC_LOCK_KEY = 0x6E386E5F73796E63  # "n8n_sync"
# A listed run that started this long after the stored run of the same id completed is another run.
REUSED_AFTER = timedelta(seconds=1)


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
    reused: int = 0
    errors: list[str] = field(default_factory=list)

    def add(self, result) -> None:
        if result.created:
            self.created += 1
        else:
            self.updated += 1
        if result.became_final:
            self.finished += 1


def _rows(workflow: Workflow):
    return WorkflowExecution.objects.filter(workflow=workflow, n8n_workflow_id=workflow.n8n_workflow_id)


def _last_seen_id(workflow: Workflow) -> int | None:
    """Highest numeric n8n execution id stored for the link (n8n ids grow monotonically)."""
    return (
        _rows(workflow).filter(execution_id__regex=r"^[0-9]{1,18}$")
        .aggregate(last=Max(Cast("execution_id", BigIntegerField())))["last"]
    )


def _known(workflow: Workflow, ids: Iterable[str]) -> dict[str, tuple]:
    """execution id → (status, started_at, completed_at, execution_time_ms) of the stored rows."""
    return {
        row[0]: row[1:] for row in _rows(workflow).filter(execution_id__in=list(ids)).values_list(
            "execution_id", "status", "started_at", "completed_at", "execution_time_ms")
    }


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


def _summary_differs(item: dict, known: tuple) -> bool:
    """The list item of a finished row says something the row lacks (its times from n8n)."""
    _, started, completed, elapsed = known
    n8n_started, n8n_stopped = (parse_datetime(item.get(key) or "") for key in ("startedAt", "stoppedAt"))
    return elapsed is None or (n8n_started is not None and n8n_started != started) or (
        n8n_stopped is not None and n8n_stopped != completed)


def _is_reused(item: dict, known: tuple) -> bool:
    started = parse_datetime(item.get("startedAt") or "")
    completed = known[2]
    return started is not None and completed is not None and started > completed + REUSED_AFTER


def _retire(workflow: Workflow, execution_id: str) -> None:
    """Keep the stored run of a reused id under `<id>@<its start>`, marked missing in n8n."""
    row = _rows(workflow).get(execution_id=execution_id)
    row.execution_id = f"{execution_id}@{row.started_at.strftime('%Y%m%dT%H%M%S.%fZ')}"
    row.missing_at = timezone.now()
    row.save(update_fields=["execution_id", "missing_at"])


def _sync_listed(client: N8nClient, workflow: Workflow, report: SyncReport, page_size: int,
                 touched: set[str]) -> None:
    last_seen = _last_seen_id(workflow)
    for page in client.iter_execution_pages(workflow_id=workflow.n8n_workflow_id, limit=page_size):
        ids = [str(item["id"]) for item in page]
        report.listed += len(ids)
        known = _known(workflow, ids)
        for item in page:
            execution_id = str(item["id"])
            if execution_id in touched:
                continue
            stored = known.get(execution_id)
            if stored is not None and stored[0] in FINAL:
                if _is_reused(item, stored):
                    _retire(workflow, execution_id)
                    report.reused += 1
                elif _summary_differs(item, stored):
                    _record(workflow, item, report)  # no detail fetch: the times are in the item
                    continue
                else:
                    continue
            _record(workflow, client.get_execution(execution_id, include_data=True), report)
            touched.add(execution_id)
        if _reaches(ids, last_seen):
            break


def _mark_missing(workflow: Workflow, execution_id: str, report: SyncReport) -> None:
    _rows(workflow).filter(execution_id=execution_id, missing_at__isnull=True).update(missing_at=timezone.now())
    report.missing += 1


def _refresh_unfinished(client: N8nClient, workflow: Workflow, report: SyncReport, touched: set[str]) -> None:
    unfinished = (
        _rows(workflow).filter(status__in=[ExecutionStatus.RUNNING, ExecutionStatus.WAITING], missing_at__isnull=True)
        .exclude(execution_id__in=touched).exclude(execution_id__isnull=True)
        .values_list("execution_id", flat=True)
    )
    for execution_id in list(unfinished):
        try:
            detail = client.get_execution(execution_id, include_data=True)
        except N8nNotFound:
            _mark_missing(workflow, execution_id, report)  # pruned or deleted in n8n: not asked again
            continue
        if str(detail.get("workflowId")) != workflow.n8n_workflow_id:
            _mark_missing(workflow, execution_id, report)  # the id names another run now (n8n reset)
            continue
        report.refreshed += 1
        _record(workflow, detail, report)


def sync_workflow(*, client: N8nClient, workflow: Workflow, report: SyncReport, page_size: int = 100,
                  running: list[dict] | None = None) -> None:
    """One workflow; `running` are its items of the shared `status=running` list (None: list them)."""
    touched: set[str] = set()
    if running is None:
        running = [item for page in client.iter_execution_pages(
            workflow_id=workflow.n8n_workflow_id, status="running", limit=page_size) for item in page]
        report.listed += len(running)
    known = _known(workflow, [str(item["id"]) for item in running])
    for item in running:
        stored = known.get(str(item["id"]))
        if stored is None or stored[0] not in FINAL:
            _record(workflow, item, report)
            touched.add(str(item["id"]))
    _sync_listed(client, workflow, report, page_size, touched)
    _refresh_unfinished(client, workflow, report, touched)


def _running_by_workflow(client: N8nClient, report: SyncReport, page_size: int) -> dict[str, list[dict]]:
    by_workflow: dict[str, list[dict]] = defaultdict(list)
    for page in client.iter_execution_pages(status="running", limit=page_size):
        report.listed += len(page)
        for item in page:
            by_workflow[str(item.get("workflowId"))].append(item)
    return by_workflow


def n8n_sync(*, client: N8nClient, page_size: int = 100,
             progress: Callable[[list[Workflow]], Iterable[Workflow]] | None = None) -> SyncReport:
    """Sync every workflow linked to n8n; one workflow's failure does not stop the others.

    A 401 stops the run at once (every further call would fail the same way), and so does a
    failure of the first, shared request: n8n could not be reached.
    """
    workflows = list(
        Workflow.objects.exclude(n8n_workflow_id__isnull=True).exclude(n8n_workflow_id="").order_by("created_at")
    )
    report = SyncReport()
    if not workflows:
        return report
    running = _running_by_workflow(client, report, page_size)
    for workflow in progress(workflows) if progress else workflows:
        try:
            sync_workflow(client=client, workflow=workflow, report=report, page_size=page_size,
                          running=running.get(workflow.n8n_workflow_id, []))
        except N8nUnauthorized:
            raise
        except N8nError as exc:
            log.warning("sync of workflow %s (n8n %s) failed: %s", workflow.pk, workflow.n8n_workflow_id, exc)
            report.errors.append(f"{workflow.name} ({workflow.n8n_workflow_id}): {exc}")
            continue
        report.workflows += 1
    return report
