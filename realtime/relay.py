"""The relay: captured changes → `row_changed` signals → the bus, in commit order, exactly once.

A batch is one transaction on the default database: lock the relay's state row (two relays
never interleave), take the committed `realtime_pending_changes` rows of up to `BATCH_ROWS`
transactions (rows of a transaction still open are invisible, so it is taken when it commits,
after transactions that committed before it: positions follow commit order and none is
skipped), give every change a position, send `row_changed` for each (receivers write in the same
transaction: the seed's notification), append the changes to `realtime_change_log`, commit,
then publish the batch on the bus. A relay killed before its commit leaves the pending rows
for the next one; one killed after it leaves the log, from which server processes fill the gap
(realtime/dispatcher.py).

One relay leads at a time (a session advisory lock on a connection of its own, which PostgreSQL
releases when the process dies); every server process starts one in a child process of its own
(`start_in_background`) and the others wait to take over. It wakes on the triggers' NOTIFY and polls every `IDLE_POLL_SECONDS`.
"""

from __future__ import annotations

import datetime
import logging
import os
import socket
import subprocess
import sys
import threading
import time

import orjson
from django.conf import settings
from django.db import connection, connections, transaction

from echelon.policy import rows_gone
from echelon.serving import metrics
from realtime import bus
from realtime.capture import NOTIFY_CHANNEL, model_of
from realtime.changes import normalized_record
from realtime.signals import DELETE, CapturedChange, row_changed

log = logging.getLogger(__name__)

BATCH_ROWS = 500  # pending rows (statements) per batch; whole transactions are always taken
BUS_CHUNK = 500  # changes per bus message
IDLE_POLL_SECONDS = 1.0
LEADER_RETRY_SECONDS = 1.0
LOCK_KEY = 0x6563686C  # "echl": the advisory lock of the leading relay (per database)
# A server's relay child connects as "echelon-relay <the server's pid>" (pg_stat_activity): a
# stopped server is gone only once its relay is (tests drop their database after).
APPLICATION_NAME = "echelon-relay"

_TAKE = """
DELETE FROM realtime_pending_changes
WHERE txid IN (SELECT txid FROM realtime_pending_changes ORDER BY id LIMIT %s)
RETURNING id, txid, table_name, op, rows::text, written_at
"""


def retention() -> tuple[float, int]:
    return (float(getattr(settings, "REALTIME_LOG_RETENTION_SECONDS", 3600)),
            int(getattr(settings, "REALTIME_LOG_MAX_ROWS", 100_000)))


def _lock_state(cursor) -> None:
    cursor.execute("INSERT INTO realtime_relay_state (id, position, pruned_through, leader) VALUES (1, 0, 0, '') "
                   "ON CONFLICT DO NOTHING")
    cursor.execute("SELECT position FROM realtime_relay_state WHERE id = 1 FOR UPDATE")


def _changes_of(taken: list) -> list[CapturedChange]:
    """The pending rows as changes, in the order they were written (commit order by transaction)."""
    committed = {}
    for _, txid, _, _, _, written_at in taken:
        committed[txid] = max(written_at, committed.get(txid, written_at))
    changes = []
    for _, txid, table, op, rows, _ in sorted(taken):
        model = model_of(table)
        if model is None:
            continue  # a table no longer published: its triggers go at the next migrate
        for record, old_record in orjson.loads(rows):
            changes.append(CapturedChange(
                model=model, type=op, record=normalized_record(model, record),
                old_record=normalized_record(model, old_record), committed_at=committed[txid], position=0))
    return changes


def run_batch(limit: int = BATCH_ROWS) -> int:
    """Hand on one batch; return how many changes it held (0: nothing was pending)."""
    return _run_batch(limit)[0]


def _run_batch(limit: int) -> tuple[int, int]:
    """Hand on one batch; → (changes, pending rows taken: fewer than `limit` when none was left)."""
    with transaction.atomic(), connection.cursor() as cursor:
        _lock_state(cursor)
        cursor.execute(_TAKE, [limit])
        taken = cursor.fetchall()
        changes = _changes_of(taken)
        if not changes:
            return 0, len(taken)
        cursor.execute("SELECT nextval('realtime_position_seq') FROM generate_series(1, %s)", [len(changes)])
        positions = sorted(position for (position,) in cursor.fetchall())
        for change, position in zip(changes, positions):
            change.position, change.batch = position, positions[0]
        gone = {(c.table, str(c.old_record.get(c.model._meta.pk.column))): c.old_record
                for c in changes if c.type == DELETE}
        with rows_gone(gone):
            for change in changes:
                row_changed.send(sender=change.model, change=change)
        _append_to_log(cursor, changes)
        cursor.execute("UPDATE realtime_relay_state SET position = %s, heartbeat_at = now() WHERE id = 1",
                       [changes[-1].position])
        pushes = [change.push for change in changes if change.push is not None]
        oldest = min(change.committed_at for change in changes)
        first, last = positions[0], positions[-1]
        transaction.on_commit(lambda: (publish(pushes, first, last), _record_lag(oldest)))
    return len(changes), len(taken)


def _append_to_log(cursor, changes: list[CapturedChange]) -> None:
    with cursor.cursor.copy(
            "COPY realtime_change_log (position, table_name, op, committed_at, message) FROM STDIN") as copy:
        for change in changes:
            message = change.push or {"position": change.position, "table": change.table, "type": change.type,
                                      "variants": []}
            copy.write_row((change.position, change.table, change.type, change.committed_at, orjson.dumps(message)))


def _record_lag(oldest: datetime.datetime) -> None:
    metrics.RELAY_LAG.set((datetime.datetime.now(datetime.UTC) - oldest).total_seconds())


def publish(pushes: list[dict], first: int, last: int) -> None:
    """Send the committed batch of positions `first`..`last` to every server process, in chunks.

    Each message says which range of positions it covers (`from`, `through`): a change nobody
    is told of (an UPDATE of hidden columns only) has a position but no push, and without the
    range a server process would take the jump for lost messages and read the log for each.
    A batch with no push at all still sends its (empty) range."""
    chunks = [pushes[start:start + BUS_CHUNK] for start in range(0, len(pushes), BUS_CHUNK)] or [[]]
    begin = first
    for index, chunk in enumerate(chunks):
        through = last if index == len(chunks) - 1 else chunk[-1]["position"]
        try:
            bus.publish(orjson.dumps({"changes": chunk, "from": begin, "through": through}))
        except Exception:  # the log has them: server processes fill the gap from it
            log.exception("realtime: could not publish %d changes", len(chunk))
        begin = through + 1


def drain() -> int:
    """Hand on everything committed now; return the count of changes.

    Stops at the first batch that took fewer pending rows than it could (nothing committed was
    left behind it), so a wake-up for one change costs one batch, not a second, empty one; a
    transaction committing meanwhile sends its own NOTIFY."""
    total = 0
    while True:
        count, taken = _run_batch(BATCH_ROWS)
        total += count
        if taken < BATCH_ROWS:
            return total


def prune() -> int:
    """Drop log entries older than the retention or beyond its size; return how many."""
    seconds, max_rows = retention()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "WITH gone AS (DELETE FROM realtime_change_log WHERE committed_at < now() - make_interval(secs => %s) "
            "OR position <= (SELECT max(position) FROM realtime_change_log) - %s RETURNING position) "
            "SELECT count(*), max(position) FROM gone", [seconds, max_rows])
        count, through = cursor.fetchone()
        if through is not None:  # a resume from before this is refused (the client refetches)
            cursor.execute("UPDATE realtime_relay_state SET pruned_through = greatest(pruned_through, %s) "
                           "WHERE id = 1", [through])
        return count


def direct_connection(autocommit: bool = True):
    """A psycopg connection of its own to the default database (Django's settings, not its pool):
    the leader's advisory lock and LISTEN live as long as it does."""
    import psycopg

    params = connection.get_connection_params()
    params.pop("cursor_factory", None)  # Django's own cursor class and adapters
    params.pop("context", None)
    return psycopg.connect(**params, autocommit=autocommit)


class Relay(threading.Thread):
    """The relay loop of one process: waits for the lead, then hands on changes until stopped."""

    def __init__(self) -> None:
        super().__init__(name="realtime-relay", daemon=True)
        self.stopping = threading.Event()
        self.leading = threading.Event()
        self.identity = f"{socket.gethostname()}:{os.getpid()}"

    def stop(self) -> None:
        self.stopping.set()

    def run(self) -> None:
        delay = 0.5
        while not self.stopping.is_set():
            try:
                self._lead()
                delay = 0.5
            except Exception as exc:  # noqa: BLE001 - the database restarts, a network cut: retry
                self.leading.clear()
                log.warning("realtime: relay stopped (%s: %s); retrying in %.1fs", type(exc).__name__, exc, delay)
                self.stopping.wait(delay)
                delay = min(delay * 2, 5)
            finally:
                connections.close_all()

    def _lead(self) -> None:
        with direct_connection() as listener:
            while not listener.execute("SELECT pg_try_advisory_lock(%s)", [LOCK_KEY]).fetchone()[0]:
                if self.stopping.wait(LEADER_RETRY_SECONDS):
                    return
            listener.execute(f"LISTEN {NOTIFY_CHANNEL}")
            self.leading.set()
            with transaction.atomic(), connection.cursor() as cursor:
                _lock_state(cursor)
                cursor.execute("UPDATE realtime_relay_state SET leader = %s, heartbeat_at = now() WHERE id = 1",
                               [self.identity])
            log.info("realtime: relay %s leads", self.identity)
            pruned_at = 0.0
            while not self.stopping.is_set():
                drain()
                if time.monotonic() - pruned_at > 30:
                    prune()
                    pruned_at = time.monotonic()
                for _ in listener.notifies(timeout=IDLE_POLL_SECONDS, stop_after=1):
                    pass


_started: list[subprocess.Popen] = []
_start_lock = threading.Lock()


def started() -> bool:
    return bool(_started)


def start_in_background() -> subprocess.Popen | None:
    """Start this server process' relay (once), as a child process: `manage.py relay
    --with-parent`. None when `REALTIME_RELAY` is off.

    A process, not a thread: a relay thread's Python work (each batch's queries, audiences and
    payloads) competed for the server's GIL with the fan-out, and under 6,000 deliveries/s its
    round trips waited so long for the GIL that the p95 latency went from 24 ms to 1.7-2.5 s
    (docs/benchmarks.md). The child stops when the server closes its stdin or dies (EOF)."""
    if not getattr(settings, "REALTIME_RELAY", True):
        return None
    with _start_lock:
        if not _started:
            # its own persistent connection: a pool would keep more than the one a batch uses
            env = dict(os.environ, DATABASE_POOL="0", DJANGO_SETTINGS_MODULE=settings.SETTINGS_MODULE,
                       PGAPPNAME=f"{APPLICATION_NAME} {os.getpid()}")  # libpq reads it
            _started.append(subprocess.Popen([sys.executable, str(settings.BASE_DIR / "manage.py"), "relay",
                                              "--with-parent"], stdin=subprocess.PIPE, env=env))
        return _started[0]


_LEADER_PRESENT = """
SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid = 0 AND objid = %s
               AND objsubid = 1 AND database = (SELECT oid FROM pg_database WHERE datname = current_database()))
"""


def leader_present(conn) -> bool:
    """True while some relay leads on `conn`'s database (holds the advisory lock LOCK_KEY)."""
    return conn.execute(_LEADER_PRESENT, [LOCK_KEY]).fetchone()[0]


def relay_connected(conn, server_pid: int) -> bool:
    """True while the relay child of the server process `server_pid` is connected."""
    return conn.execute("SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE application_name = %s)",
                        [f"{APPLICATION_NAME} {server_pid}"]).fetchone()[0]


def max_lag_seconds() -> float:
    return float(getattr(settings, "REALTIME_RELAY_MAX_LAG_SECONDS", 30))


def check_ready() -> str | None:
    """/readyz: changes are being handed on (some relay leads and keeps up)."""
    lag = lag_seconds()
    if lag is not None and lag > max_lag_seconds():
        return f"the change relay is {lag:.0f} s behind (none leading, or it cannot keep up)"
    return None


def lag_seconds() -> float | None:
    """Age of the oldest change not handed on yet (None: nothing pending), for /readyz and metrics."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT min(written_at) FROM realtime_pending_changes")
        (oldest,) = cursor.fetchone()
    if oldest is None:
        return None
    return (datetime.datetime.now(datetime.UTC) - oldest).total_seconds()
