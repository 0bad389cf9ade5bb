"""Monitoring writes: bulk ingestion of agent metrics and metrics derived from executions."""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from django.db import IntegrityError, connection, transaction
from django.db.models import Avg, Count, Q
from django.utils import timezone

from agents.models import Agent
from echelon.errors import DomainError
from echelon.dates import iso_utc
from echelon.policy import policy_for
from monitoring.ingest import COPY_COLUMNS, MAX_ROWS, gc_paused, validate_rows
from monitoring.models import AgentMetric, MetricType, MetricUnit
from workflows.models import ExecutionStatus, WorkflowExecution


class MetricRowsInvalid(DomainError):
    """Bulk rows failed validation; `errors` lists {index, field, message}, by row index (the
    API answers 400 with them in `error.rows`)."""

    def __init__(self, errors: list[dict], detail: str = "Some rows are invalid; nothing was written."):
        super().__init__(detail, rows=errors)
        self.detail = detail
        self.errors = errors


def agent_metrics_ingest(*, user, rows: list) -> int:
    """Validate every row, then write all of them with one COPY in one transaction, or none.

    Queries: one for the writable agents among the rows' agent ids, then the COPY.
    """
    if not isinstance(rows, list) or not rows:
        raise MetricRowsInvalid([], "rows must be a non-empty list of objects.")
    if len(rows) > MAX_ROWS:
        raise MetricRowsInvalid([], f"at most {MAX_ROWS} rows per request (got {len(rows)}).")
    with gc_paused():
        clean, indexes, errors = validate_rows(rows)
    if clean:
        wanted = {row[0] for row in clean}
        writable = {
            str(pk) for pk in policy_for(Agent).editable_by(user).filter(pk__in=wanted).values_list("pk", flat=True)
        }
        if len(writable) < len(wanted):
            errors.extend(
                {"index": index, "field": "agent_id", "message": "agent not found or not writable by you"}
                for index, row in zip(indexes, clean) if row[0] not in writable
            )
    if errors:
        errors.sort(key=lambda error: error["index"])
        raise MetricRowsInvalid(errors)
    try:
        with transaction.atomic(), connection.cursor() as cursor, gc_paused():
            with connection.wrap_database_errors, cursor.copy(
                f"COPY agent_metrics ({', '.join(COPY_COLUMNS)}) FROM STDIN"
            ) as copy:
                for row in clean:
                    copy.write_row(row)
    except IntegrityError:  # an agent deleted between the check and the COPY
        raise MetricRowsInvalid([], "An agent of these rows was deleted meanwhile; nothing was written.") from None
    return len(clean)


MAX_VALUE = Decimal("999999.9999")


def _percent(part: int, whole: int) -> Decimal:
    return (Decimal(part * 100) / Decimal(whole)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


def agent_metrics_record_derived(
    *, since: datetime, until: datetime | None = None, agent_ids=None
) -> list[AgentMetric]:
    """Record `success_rate` (percent) and `response_time` (ms) per agent from its executions.

    Window: executions started in [since, until). success_rate = success / (success + error),
    running and waiting executions are not finished and do not count; response_time = average
    execution_time_ms of those with a time. An agent without finished executions gets no
    success_rate; without timings no response_time. One aggregate query, one insert.
    """
    until = until or timezone.now()
    executions = WorkflowExecution.objects.filter(
        started_at__gte=since, started_at__lt=until, workflow__agent__isnull=False
    )
    if agent_ids is not None:
        executions = executions.filter(workflow__agent_id__in=agent_ids)
    stats = executions.values("workflow__agent_id").annotate(
        succeeded=Count("id", filter=Q(status=ExecutionStatus.SUCCESS)),
        failed=Count("id", filter=Q(status=ExecutionStatus.ERROR)),
        avg_ms=Avg("execution_time_ms", filter=Q(status__in=[ExecutionStatus.SUCCESS, ExecutionStatus.ERROR])),
    )
    window = {"source": "workflow_executions", "window_start": iso_utc(since), "window_end": iso_utc(until)}
    metrics = []
    for row in stats:
        agent_id, finished = row["workflow__agent_id"], row["succeeded"] + row["failed"]
        if finished:
            metrics.append(AgentMetric(
                agent_id=agent_id, metric_type=MetricType.SUCCESS_RATE, value=_percent(row["succeeded"], finished),
                unit=MetricUnit.PERCENT, recorded_at=until, metadata={**window, "executions": finished},
            ))
        if row["avg_ms"] is not None:
            avg_ms = Decimal(row["avg_ms"]).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)
            # DECIMAL(10,4) stops below 10^6 ms (~16.7 min); longer averages are capped and flagged.
            capped = avg_ms > MAX_VALUE
            metrics.append(AgentMetric(
                agent_id=agent_id, metric_type=MetricType.RESPONSE_TIME, value=min(avg_ms, MAX_VALUE),
                unit=MetricUnit.MS, recorded_at=until,
                metadata={**window, "executions": finished, **({"capped": True} if capped else {})},
            ))
    created = AgentMetric.objects.bulk_create(metrics)
    return created
