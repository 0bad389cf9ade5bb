"""API usage metering: one `api_usage` row per /api/ request, written off the request path.

The middleware calls `recorder.record(...)`, which only appends a tuple to a bounded in-process
buffer. A daemon thread (started on the first record, one per process) wakes about once per
`ECHELON_METERING_FLUSH_SECONDS` or as soon as `ECHELON_METERING_BATCH_SIZE` rows are queued,
and writes the rows with one COPY per batch on its own database connection (Django connections
are per thread).

- Full buffer: the oldest row is dropped (requests are never slowed down or blocked by
  metering) and `recorder.dropped` counts it; a warning is logged per flush that saw drops.
- Graceful stop: an atexit hook stops the thread and flushes what is left. daphne and uvicorn
  turn SIGTERM/SIGINT into a normal interpreter exit, so atexit runs; in a process where SIGTERM
  still has its default action (e.g. runserver), the recorder installs a handler that exits
  normally instead.
- A crash (SIGKILL, OOM, power loss) loses what is in the buffer: at most one flush interval of
  requests (or one batch being written, which rolls back as a whole).
- `flush()` writes synchronously on the calling thread's connection: the test suite uses it
  (the background thread is off there), so rows land inside the test's transaction.
"""

from __future__ import annotations

import atexit
import logging
import os
import re
import signal
import sys
import threading
from collections import deque
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import DataError, IntegrityError, connection, transaction

from echelon.outage import one_line

logger = logging.getLogger(__name__)

COLUMNS = ("user_id", "agent_id", "endpoint", "method", "status_code", "response_time_ms", "cost_usd", "created_at")
UNMATCHED_ENDPOINT = "<unmatched>"

# --- route patterns ---------------------------------------------------------------------------
_CONVERTER = re.compile(r"<(?:[^>:]+:)?([^>]+)>")
_NAMED_GROUP = re.compile(r"\(\?P<(\w+)>")
_PARAM_NAMES = {"pk": "id"}


def _replace_named_groups(pattern: str) -> str:
    """`(?P<name>…)` → `{name}`, skipping nested parentheses inside the group."""
    out, pos = [], 0
    for match in _NAMED_GROUP.finditer(pattern):
        if match.start() < pos:
            continue
        out.append(pattern[pos:match.start()])
        depth, i = 1, match.end()
        while i < len(pattern) and depth:
            if pattern[i] == "\\":
                i += 2
                continue
            depth += {"(": 1, ")": -1}.get(pattern[i], 0)
            i += 1
        name = match.group(1)
        out.append("{%s}" % _PARAM_NAMES.get(name, name))
        pos = i
    out.append(pattern[pos:])
    return "".join(out)


@lru_cache(maxsize=4096)
def normalize_route(route: str) -> str:
    """Django's `resolver_match.route` (path or regex pieces) → `/api/v1/agents/{id}/`."""
    text = _replace_named_groups(route)
    text = _CONVERTER.sub(lambda m: "{%s}" % _PARAM_NAMES.get(m.group(1), m.group(1)), text)
    text = text.replace("^", "").replace("$", "").replace("\\.", ".").replace("/?", "/")
    text = "/" + text.lstrip("/")
    return text[:255]


# --- prices -----------------------------------------------------------------------------------
_prices_cache: tuple[int, dict[str, Decimal]] | None = None
ZERO = Decimal("0.0000")
MAX_PRICE = Decimal(10_000)


def _parsed_prices() -> dict[str, Decimal]:
    global _prices_cache
    table = settings.ECHELON_API_PRICES
    if _prices_cache is None or _prices_cache[0] != id(table):
        parsed = {key: Decimal(str(value)).quantize(ZERO) for key, value in table.items()}
        bad = [key for key, price in parsed.items() if not ZERO <= price < MAX_PRICE]
        if bad:
            raise ImproperlyConfigured(f"ECHELON_API_PRICES: prices must be in [0, 10000) (cost_usd is "
                                       f"DECIMAL(8,4)): {', '.join(bad)}")
        _prices_cache = (id(table), parsed)
    return _prices_cache[1]


def price_for(method: str, endpoint: str) -> Decimal:
    """cost_usd of one request: "METHOD /route/" wins over "/route/"; unknown routes cost 0."""
    prices = _parsed_prices()
    price = prices.get(f"{method} {endpoint}")
    if price is None:
        price = prices.get(endpoint, ZERO)
    return price


# --- the buffer and its flusher ------------------------------------------------------------------
class UsageRecorder:
    """Bounded buffer of api_usage rows plus the thread that writes them in batches."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rows: deque = deque()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()
        self._hooks_installed = False
        self.dropped = 0
        self.written = 0
        self.failed_batches = 0

    # -- request path -------------------------------------------------------------------------
    def record(self, user_id, agent_id, endpoint: str, method: str, status_code: int,
               response_time_ms: int, cost_usd: Decimal, started_at: float) -> None:
        """Queue one row (never blocks on the database)."""
        row = (user_id, agent_id, endpoint, method, status_code, response_time_ms, cost_usd, started_at)
        with self._lock:
            if len(self._rows) >= settings.ECHELON_METERING_BUFFER_SIZE:
                self._rows.popleft()
                self.dropped += 1
            self._rows.append(row)
            queued = len(self._rows)
        if self._thread is None or self._pid != os.getpid():
            self._start_background()
        elif queued >= settings.ECHELON_METERING_BATCH_SIZE:
            self._wake.set()

    def pending(self) -> int:
        return len(self._rows)

    def discard(self) -> int:
        """Forget every queued row (tests start from an empty buffer); return how many."""
        with self._lock:
            count = len(self._rows)
            self._rows.clear()
        return count

    # -- writing --------------------------------------------------------------------------------
    def _take(self, limit: int) -> list:
        with self._lock:
            count = min(limit, len(self._rows))
            return [self._rows.popleft() for _ in range(count)]

    def flush(self) -> int:
        """Write every queued row now, on the calling thread's connection; return rows written."""
        total = 0
        while True:
            batch = self._take(settings.ECHELON_METERING_BATCH_SIZE)
            if not batch:
                return total
            try:
                total += write_rows(batch)
            except (DataError, IntegrityError):
                # The rows themselves are bad (should not happen: the middleware bounds every
                # field); retrying would block every later row, so the batch is dropped.
                self.failed_batches += 1
                self.dropped += len(batch)
                logger.exception("api_usage: a batch of %d rows was rejected and dropped", len(batch))
            except Exception:
                self.failed_batches += 1
                self._requeue(batch)
                raise

    def _requeue(self, batch: list) -> None:
        """Put a batch that failed back in front, within the bound (the rest counts as dropped)."""
        with self._lock:
            room = max(0, settings.ECHELON_METERING_BUFFER_SIZE - len(self._rows))
            keep = batch[len(batch) - room:] if room < len(batch) else batch
            self.dropped += len(batch) - len(keep)
            self._rows.extendleft(reversed(keep))

    # -- background thread -----------------------------------------------------------------------
    def _start_background(self) -> None:
        if not settings.ECHELON_METERING_BACKGROUND:
            return
        with self._lock:
            if self._pid != os.getpid():  # forked worker: the parent's thread did not come along
                self._thread, self._pid = None, os.getpid()
            if self._thread is not None:
                return
            self._stopping.clear()
            self._thread = threading.Thread(target=self._run, name="api-usage-flusher", daemon=True)
            self._thread.start()
        self._install_shutdown_hooks()

    def _run(self) -> None:
        interval = settings.ECHELON_METERING_FLUSH_SECONDS
        try:
            while not self._stopping.is_set():
                self._wake.wait(interval)
                self._wake.clear()
                self._flush_logged()
        finally:
            connection.close()

    def _flush_logged(self) -> None:
        dropped = self.dropped
        try:
            self.flush()
        except Exception as exc:  # noqa: BLE001 - e.g. the database is down: keep the rows, keep the thread
            # One line, not a traceback per second through a database outage.
            logger.warning("api_usage flush failed (%s); %d rows kept for the next attempt",
                           one_line(exc), self.pending())
            try:
                connection.close()  # a broken connection is reopened on the next flush
            except Exception:  # noqa: BLE001 - closing a dead connection may fail too
                pass
        if self.dropped != dropped:
            logger.warning("api_usage buffer full: %d rows dropped so far", self.dropped)

    def stop(self, *, flush: bool = True, timeout: float = 10.0) -> None:
        """Stop the thread (after its current batch) and flush what is left on this thread."""
        thread = self._thread
        if thread is not None:
            self._stopping.set()
            self._wake.set()
            thread.join(timeout)
            self._thread = None
        if flush and self._rows:
            try:
                self.flush()
            except Exception:
                logger.exception("api_usage: %d rows could not be written at shutdown", self.pending())
            finally:
                connection.close()

    def _install_shutdown_hooks(self) -> None:
        if self._hooks_installed:
            return
        self._hooks_installed = True
        atexit.register(self.stop)
        # Servers (daphne, uvicorn, gunicorn) handle SIGTERM by exiting normally, so atexit runs.
        # Where SIGTERM would kill the process outright, exit normally instead.
        if threading.current_thread() is threading.main_thread():
            if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
                signal.signal(signal.SIGTERM, _exit_on_sigterm)


def _exit_on_sigterm(signum, frame) -> None:
    sys.exit(128 + signum)


_INCOMING = "api_usage_incoming"
_USERS_PER_QUERY = 100  # policy subqueries per UNION ALL round trip


def readable_agents_only(rows: list) -> list:
    """`rows` with `agent_id` set to None where the row's user may not read that agent.

    api_usage rows are read back by their user (the usage summary breaks costs down by agent),
    so an agent id the user may not read would tell that the agent exists: a 404 on
    `/agents/<id>/` was metered with the id when the agent existed. The agent's row policy
    answers (`visible_to`, no second rule): one UNION ALL query per 100 distinct users of the
    batch, plus one for the users, on the flusher's thread, off the request path.
    """
    from django.db.models import UUIDField, Value

    from accounts.models import User
    from agents.models import Agent
    from echelon.policy import policy_for

    wanted: dict = {}
    for row in rows:
        if row[1] is not None and row[0] is not None:
            wanted.setdefault(row[0], set()).add(row[1])
    readable: set = set()
    if wanted:
        policy = policy_for(Agent)
        users = list(User.objects.filter(pk__in=list(wanted)))
        queries = [
            policy.visible_to(user).filter(pk__in=wanted[user.pk]).order_by()
            .annotate(reader=Value(user.pk, output_field=UUIDField())).values_list("reader", "pk")
            for user in users
        ]
        for start in range(0, len(queries), _USERS_PER_QUERY):
            first, *others = queries[start:start + _USERS_PER_QUERY]
            readable.update(first.union(*others, all=True) if others else first)
    return [row if row[1] is None or (row[0], row[1]) in readable else (row[0], None, *row[2:]) for row in rows]


def write_rows(rows: list) -> int:
    """COPY `rows` into api_usage in one transaction on this thread's connection.

    An agent the row's user may not read is stored as NULL (`readable_agents_only`). Rows go
    through a session temp table so that a row naming an agent or user deleted since
    the request (or a 404 for an agent id that never existed) does not fail the whole batch:
    the agent becomes NULL (like ON DELETE SET NULL) and a deleted user's rows are dropped (like
    ON DELETE CASCADE).
    """
    to_time = datetime.fromtimestamp
    with transaction.atomic(), connection.cursor() as cursor:
        rows = readable_agents_only(rows)
        cursor.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {_INCOMING} (user_id uuid, agent_id uuid, endpoint varchar(255),"
            " method varchar(10), status_code integer, response_time_ms integer, cost_usd numeric(8,4),"
            " created_at timestamptz)"
        )
        # wrap_database_errors: COPY raises psycopg's errors, not Django's.
        copy_sql = f"COPY {_INCOMING} ({', '.join(COLUMNS)}) FROM STDIN"
        with connection.wrap_database_errors, cursor.copy(copy_sql) as copy:
            for row in rows:
                copy.write_row((*row[:7], to_time(row[7], UTC)))
        cursor.execute(
            f"INSERT INTO api_usage ({', '.join(COLUMNS)})"
            " SELECT i.user_id, a.id, i.endpoint, i.method, i.status_code, i.response_time_ms, i.cost_usd,"
            f" i.created_at FROM {_INCOMING} i LEFT JOIN agents a ON a.id = i.agent_id"
            " WHERE i.user_id IS NULL OR EXISTS (SELECT 1 FROM users u WHERE u.id = i.user_id)"
        )
        written = cursor.rowcount
        cursor.execute(f"TRUNCATE {_INCOMING}")
    recorder.written += written
    return written


recorder = UsageRecorder()
flush = recorder.flush
