"""PostgreSQL connections stay within a documented bound under concurrent load (issue 12, point 9).

One live daphne process in each connection mode takes 64 concurrent keep-alive clients on the
API while a sampler counts that process' server connections in `pg_stat_activity` (the server
runs with its own `application_name`, so only its connections are counted). Before the fix, the
default mode kept one persistent connection per ASGI request context until garbage collection,
and a PostgreSQL with `max_connections=100` started refusing them ("too many clients": 503s).

- default (psycopg pool): at most `DATABASE_POOL_MAX` connections per process, plus the change
  relay process's two (`RELAY_CONNECTIONS`: its lock and LISTEN, its batches) and the table
  versions' LISTEN (`VERSIONS_CONNECTIONS`, realtime/table_versions.py);
- `DATABASE_POOL=0` under ASGI: one connection per request being served, closed when the
  request ends (Django's persistent connections are per request context under ASGI, so
  `echelon/asgi.py` turns them off): at most the requests in flight, and afterwards only the
  metering flusher's, the relay's two and the table versions' one.
"""

from __future__ import annotations

import threading
import time
import uuid

import psycopg
import pytest
from django.db import connection

from bench.database import _libpq
from bench.loadgen import http_load
from echelon.serving.topology import RELAY_CONNECTIONS, VERSIONS_CONNECTIONS
from echelon.settings import DEFAULT_POOL_MAX
from tests import factories
from tests.monitoring.servers import DaphneServer, bearer, database_url_for_tests

pytestmark = pytest.mark.django_db(transaction=True)

CLIENTS = 64
# no pool: held besides requests: the metering flusher's, the relay's lock and its batches',
# the table versions' LISTEN
HELD_AFTER = 1 + RELAY_CONNECTIONS + VERSIONS_CONNECTIONS
SECONDS = 8.0
# pg_stat_activity is the whole server's: a name of this run's own, so that a test of another
# xdist worker (the other mode) is not counted
APP_NAME = f"echelon-connection-bound-{uuid.uuid4().hex[:8]}"
NO_LIMITS = '{"free": {"requests": 1000000000, "window_seconds": 60}}'


class ConnectionSampler(threading.Thread):
    """Counts the server's connections every 20 ms; `.peak` is the highest count seen."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak = 0
        self._stop_event = threading.Event()
        self._conn = psycopg.connect(_libpq(database_url_for_tests()), autocommit=True)

    def count(self) -> int:
        return self._conn.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
                                  [APP_NAME]).fetchone()[0]

    def run(self) -> None:
        while not self._stop_event.is_set():
            self.peak = max(self.peak, self.count())
            time.sleep(0.02)

    def stop(self) -> None:
        self._stop_event.set()
        self.join(10)
        self._conn.close()


@pytest.mark.parametrize(("env", "bound"), [
    ({}, DEFAULT_POOL_MAX + RELAY_CONNECTIONS + VERSIONS_CONNECTIONS),
    ({"DATABASE_POOL": "0"}, CLIENTS + HELD_AFTER),
], ids=["default-psycopg-pool", "no-pool"])
def test_64_concurrent_clients_stay_within_the_connection_bound(env, bound):
    user = factories.UserFactory()
    for n in range(60):
        factories.AgentFactory(created_by=user, name=f"bound {n}")
    connection.close()  # the test's own connection is not the server's: nothing to hide, just tidy
    server = DaphneServer(PGAPPNAME=APP_NAME, ECHELON_RATE_LIMITS=NO_LIMITS, LOG_LEVEL="WARNING", **env)
    sampler = ConnectionSampler()
    try:
        sampler.start()
        headers = bearer(user)
        paths = ["/api/v1/agents/?page_size=50", "/api/v1/notifications/unread-count/"]
        counts, _ = http_load([(server.port, path, headers) for path in paths],
                              concurrency=CLIENTS // len(paths), seconds=SECONDS)
        after = sampler.count()
        # Without the pool, the last requests' connections close once they are answered (waited
        # for); the pool keeps its own (min_size plus the flusher's), so there is nothing to wait for.
        deadline = time.monotonic() + (30 if "DATABASE_POOL" in env else 0)
        while after > HELD_AFTER and time.monotonic() < deadline:
            time.sleep(0.1)
            after = sampler.count()
    finally:
        sampler.stop()
        server.kill()
    answered = {status: sum(c.get(status, 0) for c in counts) for status in {s for c in counts for s in c}}
    assert set(answered) == {200}, (answered, server.output())  # no 503 "too many clients", nothing else
    assert sum(answered.values()) >= 3 * CLIENTS, answered  # the load really ran
    assert 0 < sampler.peak <= bound, (sampler.peak, bound)
    if "DATABASE_POOL" in env:
        assert after <= HELD_AFTER, after  # request connections are closed; the flusher, relay and listener keep theirs
    print(f"peak {sampler.peak} connections (bound {bound}), {sum(answered.values())} answers")
