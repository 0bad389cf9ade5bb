"""Recording workflow executions: the one upsert shared by the n8n sync and the signed callback.

`execution_record` inserts or updates the row for (workflow, n8n workflow id, n8n execution id)
under a row lock, so concurrent reports of the same execution are serialized (n8n's execution
ids restart after a reset: the id alone could name another run). A finished execution (success
or error) never moves back to running/waiting; later reports only fill what is still empty, and
a report that contradicts the final status (a replay saying error for a success) changes no data.

One shape whatever the path (docs/n8n.md, "Executions"):
- `input_data` / `output_data`: a list of items (JSON values), as n8n passes items between
  nodes: the sync stores the trigger node's items and the last node's items; a callback's
  `input` / `output` object is stored as a one-item list; no items at all is null (a failed
  run has no output, its error is in `error_data`);
- `started_at` / `completed_at`: n8n's own times when a report carries them (the sync always;
  a callback when it sends `started_at` / `stopped_at`) win over the times Echelon received
  a report; otherwise the time of the first report; `completed_at >= started_at` always;
- `execution_time_ms`: n8n's `stoppedAt - startedAt` (or the callback's value).
The
first time an execution reaches a final status, and only then, the workflow's counters are
incremented in SQL (F expressions), a failure notifies the agent's owner (`agent_error`) and an
active agent moves to `error`, all in the same transaction.

It is the one writer of executions, so it is also where secret request headers (n8n's trigger
items carry every header of the webhook call) are redacted before anything is stored
(`echelon.redaction.redact_headers`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from agents.models import Agent, AgentStatus
from agents.services import agent_set_status
from echelon.redaction import redact_headers
from notifications.services import notify_execution_failed
from workflows.models import ExecutionStatus, Workflow, WorkflowExecution
from workflows.services.thoughts import thoughts_ingest

E = ExecutionStatus
FINAL = frozenset({E.SUCCESS, E.ERROR})

# n8n 2.x execution statuses → ours. The original is kept in error_data["n8n_status"] for errors.
N8N_STATUS_MAP = {
    "success": E.SUCCESS,
    "error": E.ERROR, "crashed": E.ERROR, "canceled": E.ERROR,
    "waiting": E.WAITING,
    "running": E.RUNNING, "new": E.RUNNING, "unknown": E.RUNNING,
}
N8N_STATUSES = frozenset(N8N_STATUS_MAP)


def execution_status_from_n8n(n8n_status: str | None) -> str:
    return N8N_STATUS_MAP.get(n8n_status or "unknown", E.RUNNING)


@dataclass
class ExecutionReport:
    """What n8n (sync or callback) says about one execution, already in Python types."""

    execution_id: str
    n8n_status: str
    started_at: datetime | None = None
    stopped_at: datetime | None = None
    input_data: Any = None
    output_data: Any = None
    error_data: dict | None = None
    execution_time_ms: int | None = None
    extra: dict = field(default_factory=dict)
    n8n_workflow_id: str | None = None  # None: the workflow's current link

    @property
    def status(self) -> str:
        return execution_status_from_n8n(self.n8n_status)


@dataclass
class RecordResult:
    execution: WorkflowExecution
    created: bool
    became_final: bool
    thoughts: int = 0


def _items(run: dict) -> list:
    """The JSON items of one node run (`data.main[0][*].json`)."""
    main = ((run or {}).get("data") or {}).get("main") or [[]]
    return [item.get("json") for item in (main[0] or []) if isinstance(item, dict)]


def _compact_error(error: dict) -> dict:
    node = error.get("node")
    compact = {key: error[key] for key in ("name", "message", "description", "httpCode", "messages") if error.get(key)}
    if isinstance(node, dict) and node.get("name"):
        compact["node"] = node["name"]
    return compact


def report_from_n8n(payload: dict) -> ExecutionReport:
    """Read an execution as n8n's public API returns it (list item or `includeData=true`)."""
    finished = payload.get("finished")
    n8n_status = payload.get("status") or ("success" if finished else "unknown")
    data = payload.get("data") or {}
    result = data.get("resultData") or {}
    run_data = result.get("runData") or {}
    runtime = (data.get("executionData") or {}).get("runtimeData") or {}
    trigger = (runtime.get("triggerNode") or {}).get("name")
    if trigger not in run_data:  # older payloads: the trigger is the node run without a source
        trigger = next((name for name, runs in run_data.items() if runs and not runs[0].get("source")), None)
    last = result.get("lastNodeExecuted")
    error = result.get("error")
    error_data = _compact_error(error) if isinstance(error, dict) else None
    if error_data is not None and last:
        error_data.setdefault("last_node", last)
    return ExecutionReport(
        execution_id=str(payload["id"]),
        n8n_status=n8n_status, n8n_workflow_id=str(payload["workflowId"]) if payload.get("workflowId") else None,
        started_at=parse_datetime(payload.get("startedAt") or payload.get("createdAt") or ""),
        stopped_at=parse_datetime(payload.get("stoppedAt") or ""),
        input_data=_items(run_data[trigger][0]) if trigger in run_data else None,
        output_data=_items(run_data[last][-1]) if last in run_data and run_data[last] else None,
        error_data=error_data,
        extra={"mode": payload.get("mode"), "wait_till": payload.get("waitTill")},
    )


def as_items(value: Any) -> list | None:
    """The one shape of input/output data: a list of items; no items → None."""
    if value is None or value == [] or value == {}:
        return None
    return value if isinstance(value, list) else [value]


def _elapsed_ms(started: datetime, stopped: datetime) -> int:
    return max(0, round((stopped - started).total_seconds() * 1000))


def _row_values(report: ExecutionReport, now: datetime) -> tuple[dict, set[str]]:
    """The row's values from `report`, and which of the three times come from n8n's clock."""
    status = report.status
    error_data = report.error_data
    if report.n8n_status in ("error", "crashed", "canceled"):
        error_data = {**(error_data or {}), "n8n_status": report.n8n_status}
    final = status in FINAL
    started_at, stopped_at = report.started_at, report.stopped_at
    if started_at and stopped_at and stopped_at < started_at:
        stopped_at = started_at  # clocks of two machines: never a completion before the start
    completed_at = (stopped_at or now) if final else None
    elapsed = report.execution_time_ms
    if elapsed is None and final and started_at and stopped_at:
        elapsed = _elapsed_ms(started_at, stopped_at)
    known = {name for name, value in (("started_at", started_at), ("completed_at", stopped_at if final else None),
                                      ("execution_time_ms", elapsed)) if value is not None}
    return {
        "status": status, "input_data": redact_headers(as_items(report.input_data)),
        "output_data": redact_headers(as_items(report.output_data)),
        "error_data": redact_headers(error_data), "execution_time_ms": elapsed, "started_at": started_at,
        "completed_at": completed_at,
    }, known


def _count_final(workflow_id, execution: WorkflowExecution) -> None:
    """Counters move in SQL, so concurrent first-finishes of different executions all count."""
    success = 1 if execution.status == E.SUCCESS else 0
    finished_at = execution.completed_at or timezone.now()
    Workflow.objects.filter(pk=workflow_id).update(
        execution_count=Coalesce(F("execution_count"), 0) + 1,
        success_count=Coalesce(F("success_count"), 0) + success,
        error_count=Coalesce(F("error_count"), 0) + (1 - success),
        last_execution=Greatest(Coalesce(F("last_execution"), Value(finished_at)), Value(finished_at)),
    )


def _on_failure(workflow: Workflow, execution: WorkflowExecution) -> None:
    agent = Agent.objects.filter(pk=workflow.agent_id).first() if workflow.agent_id else None
    notify_execution_failed(execution=execution, workflow=workflow, agent=agent)
    if agent is not None and agent.status == AgentStatus.ACTIVE:
        agent_set_status(agent=agent, status=AgentStatus.ERROR)


def _update(row: WorkflowExecution, report: ExecutionReport, values: dict, from_n8n_clock: set[str]) -> None:
    old_status = row.status
    if old_status in FINAL and report.status in FINAL and report.status != old_status:
        return  # e.g. a replay saying error for a success: the first final report stands
    changed = []
    for name, value in values.items():
        if value is None or getattr(row, name) == value:
            continue
        if old_status in FINAL:
            # Finished rows: n8n's clock wins for the times; otherwise only blanks are filled.
            if name == "status":
                continue
            if getattr(row, name) is not None and name not in from_n8n_clock:
                continue
        setattr(row, name, value)
        changed.append(name)
    if row.completed_at is not None and row.started_at is not None and row.completed_at < row.started_at:
        row.completed_at = row.started_at
        changed.append("completed_at")
    times_moved = report.stopped_at is not None or {"started_at", "completed_at"} & set(changed)
    if (row.status in FINAL and "execution_time_ms" not in from_n8n_clock and times_moved
            and row.started_at and row.completed_at):
        # e.g. seen running by the sync (start time), finished by a callback (stop time)
        elapsed = _elapsed_ms(row.started_at, row.completed_at)
        if elapsed != row.execution_time_ms:
            row.execution_time_ms = elapsed
            changed.append("execution_time_ms")
    if changed:
        row.save(update_fields=sorted(set(changed)))


@transaction.atomic
def execution_record(*, workflow: Workflow, report: ExecutionReport, thoughts: list | None = None) -> RecordResult:
    """Insert or update one execution idempotently; see the module docstring for the rules.

    `thoughts` (optional) are ingested for the execution in the same transaction; an invalid
    batch rolls the whole report back.
    """
    now = timezone.now()
    values, from_n8n_clock = _row_values(report, now)
    n8n_workflow_id = report.n8n_workflow_id or workflow.n8n_workflow_id or ""
    started_at = values["started_at"] or now
    candidate = WorkflowExecution(
        workflow_id=workflow.pk, execution_id=report.execution_id, n8n_workflow_id=n8n_workflow_id,
        **{**values, "started_at": started_at,
           "completed_at": values["completed_at"] and max(values["completed_at"], started_at)},
    )
    WorkflowExecution.objects.bulk_create([candidate], ignore_conflicts=True)
    row = WorkflowExecution.objects.select_for_update().get(
        workflow_id=workflow.pk, n8n_workflow_id=n8n_workflow_id, execution_id=report.execution_id)
    created = row.pk == candidate.pk
    old_status = None if created else row.status
    if not created:
        _update(row, report, values, from_n8n_clock)
    became_final = old_status not in FINAL and row.status in FINAL
    if became_final:
        _count_final(workflow.pk, row)
        if row.status == E.ERROR:
            _on_failure(workflow, row)
    ingested = 0
    if thoughts:
        ingested = len(thoughts_ingest(execution=row, thoughts=thoughts, agent_id=workflow.agent_id))
    return RecordResult(execution=row, created=created, became_final=became_final, thoughts=ingested)
