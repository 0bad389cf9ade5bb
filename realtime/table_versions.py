"""Per-process versions of tables, moved on by PostgreSQL's notifications of committed writes,
and `VersionedCache`, a process cache whose entries hold only while their tables' versions do.

The capture triggers (realtime/capture.py) notify `echelon_changed_<table>` from every
INSERT, UPDATE, DELETE and TRUNCATE, by any writer; PostgreSQL delivers the notification when
the writer commits. Each process that asks for versions keeps one connection of its own that
LISTENs on those channels (started on first use; after a fork, the child opens its own):

- a background thread drains it as notifications arrive, so PostgreSQL's notification queue
  never waits for an idle process;
- `snapshot()` drains it too (non-blocking: what the socket holds) before it answers, so a
  request sees every notification that reached this process.

A commit is seen here once its notification arrives: the listening backend sends it as the
writer commits, so a request that starts after the commit normally sees it (a request racing
the commit itself may not, as it could not without a cache either). Where that cannot be
promised the cache is not used (`snapshot()` answers None and the caller asks PostgreSQL): inside a transaction (the caller may
see its own uncommitted writes, which nothing announces), for a table without the capture
triggers (`REALTIME_PUBLISHED_TABLES` leaves it out), while the listening connection is down
(when it comes back every version moves on, `epoch`: notifications may have been missed), and
with `ECHELON_VERSIONED_CACHES=0` (a LISTEN needs a session of its own: behind a pooler in
transaction mode notifications would not arrive, docs/deployment.md).

One connection per process that uses it (`VERSIONS_CONNECTIONS` in the topology's budget).
"""

from __future__ import annotations

import logging
import os
import select
import threading
from collections.abc import Callable, Hashable, Iterable

from django.conf import settings
from django.db import connection

from realtime.capture import captured_tables, table_channel

log = logging.getLogger(__name__)
RETRY_SECONDS = (0.5, 1, 2, 5)  # between reconnection attempts, then every 5 s


class TableVersions:
    """The notifications this process received, counted per table (one instance per process)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # the connection and the counts, between threads
        self._pid: int | None = None
        self._conn = None
        self._epoch = 0
        self._versions: dict[str, int] = {}  # by channel: a long table name's channel is cut short
        self._watched: set[str] = set()  # tables asked for (LISTENed once connected)
        self._covered: frozenset[str] = frozenset()  # ... of those, the ones with capture triggers
        self._thread: threading.Thread | None = None
        self._wake = threading.Event()
        self.stopped = False

    def snapshot(self, tables: tuple[str, ...]) -> tuple | None:
        """The versions of `tables` now, or None when a cache of them must not be trusted."""
        if connection.in_atomic_block or not settings.ECHELON_VERSIONED_CACHES:
            return None
        with self._lock:
            self._start_locked()
            if self._conn is None:
                return None
            if not self._watched.issuperset(tables) and not self._watch_locked(tables):
                return None
            if not self._covered.issuperset(tables):
                return None
            self._drain_locked()
            if self._conn is None:
                return None
            return (self._epoch, *(self._versions.get(table_channel(table), 0) for table in tables))

    def stop(self) -> None:
        """Close the connection and stop the thread (tests, before their database is dropped)."""
        with self._lock:
            self.stopped = True
            self._close_locked()
        self._wake.set()

    # --- under the lock -----------------------------------------------------------------------
    def _start_locked(self) -> None:
        if self._pid != os.getpid():  # first use, or a forked child: the parent's parts stay behind
            self._pid, self._conn, self._thread = os.getpid(), None, None
            self._epoch += 1
            self.stopped = False
        if self._conn is None and self._thread is None and not self.stopped:
            self._connect_locked()
        if self._thread is None and not self.stopped:
            self._thread = threading.Thread(target=self._run, name="table-versions", daemon=True)
            self._thread.start()

    def _connect_locked(self) -> bool:
        from realtime.relay import direct_connection

        try:
            conn = direct_connection()
            # notifications that arrive while psycopg runs a statement (LISTEN) reach it, not
            # the socket drained below: counted all the same
            conn.add_notify_handler(lambda notify: self._count(notify.channel))
            self._conn = conn
            self._epoch += 1  # whatever was cached before may have missed notifications
            self._covered = frozenset()
            if self._watched and not self._watch_locked(tuple(self._watched)):
                return False
            return True
        except Exception as exc:  # noqa: BLE001 - the database is down: no cache until it is back
            log.warning("table versions: cannot listen (%s: %s); caches are off", type(exc).__name__, exc)
            self._close_locked()
            return False

    def _watch_locked(self, tables: Iterable[str]) -> bool:
        tables = tuple(tables)
        try:
            with self._conn.cursor() as cursor:
                for table in tables:
                    cursor.execute(f'LISTEN "{table_channel(table)}"')
                covered = captured_tables(cursor, tables)
        except Exception as exc:  # noqa: BLE001
            log.warning("table versions: LISTEN failed (%s: %s)", type(exc).__name__, exc)
            self._close_locked()
            return False
        self._watched.update(tables)
        self._covered = self._covered | covered
        return True

    def _drain_locked(self) -> None:
        pgconn = self._conn.pgconn
        try:
            pgconn.consume_input()
            while (notice := pgconn.notifies()) is not None:
                self._count(notice.relname.decode())
            if self._conn.closed or self._conn.broken:
                raise ConnectionError("listening connection lost")
        except Exception as exc:  # noqa: BLE001 - lost: every version moves on when it is back
            log.warning("table versions: listening connection lost (%s); caches are off", exc)
            self._close_locked()

    def _count(self, channel: str) -> None:
        self._versions[channel] = self._versions.get(channel, 0) + 1

    def _close_locked(self) -> None:
        conn, self._conn = self._conn, None
        self._epoch += 1
        if conn is not None:
            try:
                conn.close()
            except Exception:  # noqa: BLE001, S110 - closing a broken connection
                pass

    # --- the background thread ----------------------------------------------------------------
    def _run(self) -> None:
        attempt = 0
        while not self.stopped:
            with self._lock:
                conn = self._conn
                if conn is None and not self.stopped:
                    if self._connect_locked():
                        attempt, conn = 0, self._conn
            if conn is None:
                self._wake.wait(RETRY_SECONDS[min(attempt, len(RETRY_SECONDS) - 1)])
                attempt += 1
                continue
            try:
                readable, _, _ = select.select([conn.pgconn.socket], [], [], 5)
            except (OSError, ValueError):  # closed under us (stop(), or lost)
                readable = [True]
            if readable:
                with self._lock:
                    if self._conn is conn:
                        self._drain_locked()
        with self._lock:
            self._thread = None


versions = TableVersions()


MISSING = object()  # `VersionedCache.kept`: nothing kept for these versions


class VersionedCache:
    """Values computed from `tables` kept per key while none of those tables has changed.

    `get(key, compute)` answers the kept value when every table's version still equals the one
    read before it was computed; otherwise it computes (asking PostgreSQL), keeps and answers the
    new value. A write committed while `compute` runs moves a version on after the read, so the
    value is dropped at its next use. At most `max_entries` values (the oldest go first)."""

    def __init__(self, tables: tuple[str, ...], *, max_entries: int = 4096) -> None:
        self.tables = tables
        self.max_entries = max_entries
        self._entries: dict[Hashable, tuple[tuple, object]] = {}
        self._lock = threading.Lock()  # evictions, between the threads of one process

    def get(self, key: Hashable, compute: Callable[[], object]):
        snapshot, value = self.kept(key)
        if value is MISSING:
            value = compute()
            self.keep(key, snapshot, value)
        return value

    def kept(self, key: Hashable) -> tuple[tuple | None, object]:
        """(the tables' versions now, the value kept for them or MISSING). A caller that computes
        the value itself hands both to `keep`: the versions are read before it asks PostgreSQL."""
        snapshot = versions.snapshot(self.tables)
        if snapshot is None:
            return None, MISSING
        entry = self._entries.get(key)
        if entry is not None and entry[0] == snapshot:
            return snapshot, entry[1]
        return snapshot, MISSING

    def keep(self, key: Hashable, snapshot: tuple | None, value) -> None:
        """Keep `value`, computed after `kept` answered `snapshot` (None: nothing is kept)."""
        if snapshot is None:
            return
        with self._lock:
            if len(self._entries) >= self.max_entries:
                self._entries.pop(next(iter(self._entries)), None)
            self._entries[key] = (snapshot, value)
