"""The signed n8n callback: identify, verify, cap failures, then parse, validate and record.

Order of the checks (issue 12, point 4: parsing first let unsigned 1 MB bodies burn the CPU):
1. size: over 1 MiB → 413;
2. `X-Echelon-Signature: sha256=<64 hex>` present (no work at all without it) → else 401;
3. identify the workflow from the header `X-Echelon-Workflow: <n8n workflow id>` (outside the
   signed body, so the right secret is known before reading it; one indexed lookup) → 400/404;
4. signature on the raw bytes: the HMAC-SHA256 of the body (or of
   `"<X-Echelon-Timestamp>." + body`) with that workflow's `webhook_secret` (a row older than
   per-workflow secrets: the legacy `settings.N8N_WEBHOOK_SECRET`), constant-time → 401;
5. a failure of 2-4 counts against the client address (the anonymous rate limit's, see
   `hook_failure_counted`); past `ECHELON_HOOK_FAILURES` per window the answer is 429;
6. only a verified body is parsed as JSON, then validated; freshness: the body's `ts` (Unix
   seconds) or the signed `X-Echelon-Timestamp`, at most five minutes away from now.
Replays of one execution are idempotent (the upsert). Nothing is written unless every check passes.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import re
import time
from dataclasses import dataclass

from django.conf import settings

from echelon.dates import DateTimeInputError, parse_aware
from echelon.errors import KIND_OF_STATUS, DomainError
from echelon.jsonvalues import MAX_DEPTH, top_field, unstorable_message, unstorable_path
from echelon.counters import KEY_SLACK_SECONDS, count_request
from workflows.services.thoughts import ThoughtBatchError
from workflows.models import Workflow
from workflows.services.executions import N8N_STATUSES, ExecutionReport, RecordResult, execution_record

MAX_BODY_BYTES = 1024 * 1024
MAX_AGE_SECONDS = 300
MAX_TIMESTAMP = 10**11  # Unix seconds, about the year 5138
SIGNATURE_RE = re.compile(r"^sha256=([0-9a-fA-F]{64})$")
EVENT_STATUS = {"execution.finished": "success", "execution.failed": "error"}
WORKFLOW_HEADER = "X-Echelon-Workflow"
SIGNATURE_HEADER = "X-Echelon-Signature"


class HookRejected(DomainError):
    """The callback is refused with HTTP `status`; `field` names the offending part when known."""

    def __init__(self, status: int, message: str, field: str | None = None, retry_after: int | None = None):
        super().__init__(message, field=field)
        self.kind = KIND_OF_STATUS[status]
        self.status, self.retry_after = status, retry_after


def sign(body: bytes, secret: str, timestamp: str | None = None) -> str:
    """The header value n8n (or a test) must send for `body`."""
    message = (timestamp.encode() + b"." + body) if timestamp is not None else body
    return "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def _id_field(payload: dict, name: str) -> str:
    value = payload.get(name)
    if isinstance(value, bool) or not isinstance(value, (str, int)) or str(value) == "" or len(str(value)) > 255:
        raise HookRejected(400, f"{name} is required and must be a non-empty string or integer", name)
    return str(value)


def _identified_workflow(header: str | None) -> Workflow:
    if not header:
        raise HookRejected(400, f"{WORKFLOW_HEADER} header (the n8n workflow id, {{{{ $workflow.id }}}}) is required",
                           WORKFLOW_HEADER)
    # No lookup for what no row can hold (PostgreSQL refuses a NUL in a query: a 500).
    storable = len(header) <= 255 and "\x00" not in header
    workflow = Workflow.objects.filter(n8n_workflow_id=header).first() if storable else None
    if workflow is None:
        raise HookRejected(404, f"No workflow is linked to n8n workflow {header[:255]!r}", WORKFLOW_HEADER)
    return workflow


def _verified_workflow(body: bytes, signature: str | None, workflow_header: str | None,
                       timestamp: str | None) -> Workflow:
    """The workflow whose secret signed `body`, or HookRejected; cheapest checks first."""
    match = SIGNATURE_RE.match(signature or "")
    if match is None:
        raise HookRejected(401, f"{SIGNATURE_HEADER} header missing or not 'sha256=<64 hex digits>'",
                           SIGNATURE_HEADER)
    workflow = _identified_workflow(workflow_header)
    secret = workflow.webhook_secret or settings.N8N_WEBHOOK_SECRET
    if not secret:
        raise HookRejected(401, "The workflow has no webhook secret: rotate one (POST workflows/{id}/rotate-secret/)",
                           SIGNATURE_HEADER)
    if not hmac.compare_digest(sign(body, secret, timestamp)[7:], match.group(1).lower()):
        raise HookRejected(401, f"{SIGNATURE_HEADER} does not match the body", SIGNATURE_HEADER)
    return workflow


def hook_failure_counted(client: str, *, now: float | None = None) -> HookRejected | None:
    """Count one unauthenticated failure of `client`; past the cap, the 429 to answer instead.

    Fixed windows in the shared cache, with the rate limits' counter (atomic across processes,
    per process while the cache is down). Only failures count: a correctly signed callback is
    accepted even from a capped address, because every tenant's callbacks come from the one n8n
    host, and one tenant's unsigned flood must not block the others' callbacks.
    """
    limit, window = settings.ECHELON_HOOK_FAILURES, settings.ECHELON_HOOK_FAILURE_WINDOW_SECONDS
    now = time.time() if now is None else now
    index = int(now // window)
    if count_request(f"hook-failures:{client}:{window}:{index}", window + KEY_SLACK_SECONDS) <= limit:
        return None
    wait = max(1, math.ceil((index + 1) * window - now))
    return HookRejected(429, f"Too many unsigned or badly signed callbacks from this address ({limit} per "
                             f"{window} s); retry in {wait} s", retry_after=wait)


def _storable(payload: dict) -> None:
    """NUL characters and deep nesting were 500s in PostgreSQL (see echelon.jsonvalues)."""
    path = unstorable_path(payload)
    if path is not None:
        raise HookRejected(400, unstorable_message(path), top_field(path))


def _timestamp(payload: dict, header: str | None) -> int:
    raw = header if header is not None else payload.get("ts")
    field = "X-Echelon-Timestamp" if header is not None else "ts"
    if isinstance(raw, str) and raw.isdigit():
        raw = int(raw)
    if isinstance(raw, bool) or not isinstance(raw, (int, float)):
        raise HookRejected(400, f"{field} (Unix seconds) is required", field)
    if not -MAX_TIMESTAMP <= raw <= MAX_TIMESTAMP:  # 10**400 overflowed the age arithmetic: a 500
        raise HookRejected(400, f"{field} (Unix seconds) is out of range", field)
    return int(raw)


def _datetime(payload: dict, name: str):
    value = payload.get(name)
    if value is None:
        return None
    try:
        return parse_aware(value, require_offset=False)  # in UTC: an offset beyond ±15:59 was a 500
    except DateTimeInputError:
        raise HookRejected(400, f"{name} must be an ISO 8601 date-time", name) from None


def _report(payload: dict, execution_id: str) -> ExecutionReport:
    event = payload.get("event")
    if event is not None and not isinstance(event, str):
        raise HookRejected(400, "event must be a string", "event")
    status = payload.get("status", EVENT_STATUS.get(event or "", "success"))
    if not isinstance(status, str) or status not in N8N_STATUSES:  # a list here was a 500
        raise HookRejected(400, f"status must be one of {', '.join(sorted(N8N_STATUSES))}", "status")
    error = payload.get("error")
    if error is not None and not isinstance(error, (dict, str)):
        raise HookRejected(400, "error must be an object or a string", "error")
    error_data = {"message": error} if isinstance(error, str) else (dict(error) if error else None)
    if error_data is not None and isinstance(payload.get("last_node"), str):
        error_data.setdefault("last_node", payload["last_node"])
    elapsed = payload.get("execution_time_ms")
    if elapsed is not None and (isinstance(elapsed, bool) or not isinstance(elapsed, int) or not 0 <= elapsed < 2**31):
        raise HookRejected(400, "execution_time_ms must be a non-negative integer", "execution_time_ms")
    thoughts = payload.get("thoughts")
    if thoughts is not None and not isinstance(thoughts, list):
        raise HookRejected(400, "thoughts must be a list", "thoughts")
    return ExecutionReport(
        execution_id=execution_id, n8n_status=status, started_at=_datetime(payload, "started_at"),
        stopped_at=_datetime(payload, "stopped_at"), input_data=payload.get("input"),
        output_data=payload.get("output"), error_data=error_data, execution_time_ms=elapsed,
    )


@dataclass
class HookOutcome:
    workflow: Workflow
    result: RecordResult


def _parsed(body: bytes) -> dict:
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        raise HookRejected(400, "body is not valid JSON") from None
    except RecursionError:  # e.g. 500,000 nested "[": the parser recurses (a 500 before)
        raise HookRejected(400, f"body is nested deeper than {MAX_DEPTH} levels") from None
    if not isinstance(payload, dict):
        raise HookRejected(400, "body must be a JSON object")
    _storable(payload)
    return payload


def hook_receive(*, body: bytes, signature: str | None, workflow_header: str | None,
                 timestamp_header: str | None = None, client: str = "", now: float | None = None) -> HookOutcome:
    """Check one callback and record it; raises HookRejected (nothing written) on any problem.

    `client` is the caller's address as the rate limits see it (failures are capped per client).
    """
    if len(body) > MAX_BODY_BYTES:
        raise HookRejected(413, f"body is larger than {MAX_BODY_BYTES} bytes")
    try:
        workflow = _verified_workflow(body, signature, workflow_header, timestamp_header)
    except HookRejected as rejected:
        raise hook_failure_counted(client) or rejected from None
    # Only a verified body is read from here on.
    if timestamp_header is not None and not timestamp_header.isdigit():
        raise HookRejected(400, "X-Echelon-Timestamp must be Unix seconds", "X-Echelon-Timestamp")
    payload = _parsed(body)
    claimed = payload.get("n8n_workflow_id")
    if claimed is not None and str(claimed) != workflow.n8n_workflow_id:
        raise HookRejected(400, f"n8n_workflow_id does not match the {WORKFLOW_HEADER} header", "n8n_workflow_id")
    age = (time.time() if now is None else now) - _timestamp(payload, timestamp_header)
    if abs(age) > MAX_AGE_SECONDS:
        raise HookRejected(401, "timestamp is more than 5 minutes away from now (stale or replayed request)",
                           "X-Echelon-Timestamp" if timestamp_header is not None else "ts")
    execution_id = _id_field(payload, "n8n_execution_id")
    report = _report(payload, execution_id)
    try:
        result = execution_record(workflow=workflow, report=report, thoughts=payload.get("thoughts"))
    except ThoughtBatchError as exc:
        raise HookRejected(400, exc.message, exc.field) from exc
    return HookOutcome(workflow=workflow, result=result)
