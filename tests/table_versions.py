"""Waiting for table versions in tests (realtime/table_versions.py): PostgreSQL's notifications
arrive asynchronously, so tests wait for them with a generous deadline, never a short margin."""

from __future__ import annotations

import time

from realtime.table_versions import versions
from tests.servers import outside_connection

DEADLINE = 60.0


def eventually(check, what: str):
    """`check()`'s first truthy answer, polled until DEADLINE."""
    until = time.monotonic() + DEADLINE
    while time.monotonic() < until:
        answer = check()
        if answer:
            return answer
        time.sleep(0.01)
    raise AssertionError(f"not within {DEADLINE} s: {what}")


def counted(write, tables=("users",)):
    """`write()`'s result once its notification is counted: on a loaded machine it can arrive
    after the next step of a test, which would then see a version move it did not cause."""
    before = eventually(lambda: versions.snapshot(tables), "listening")
    result = write()
    eventually(lambda: versions.snapshot(tables) not in (None, before), "the set-up write is counted")
    return result


def outside(sql: str, params=()) -> None:
    with outside_connection(autocommit=True) as conn:
        conn.execute(sql, params)
