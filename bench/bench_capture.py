"""What change capture costs writers (issue 14): `make bench BENCH_ARGS=capture`.

Capture on vs off in the same run: between alternating rounds this process puts the capture
triggers on the bench database's tables and takes them off (`sync_triggers` with
`REALTIME_PUBLISHED_TABLES` empty). A daphne server answers the requests and `manage.py relay`
hands the changes on in a process of its own, as in `make serve` (HTTP workers write; the
relay runs in the websocket server): its work competes with the writes for the same two cores.

1. Bulk metric ingestion: rounds of 5 back-to-back 10,000-row POSTs to
   /api/v1/agent-metrics/bulk/ (rows/s while writing; the relay hands on each POST's rows
   while the next is written). ≥ 0.6×. Beside it, for the record, the sustained rate: the same
   rows over the time until the relay has handed the last of them on (the relay's own
   throughput bounds it; docs/realtime.md "Cost").
2. A plain psycopg COPY of the same rows, same rounds: the triggers' share of the cheapest
   write there is (no app code in the baseline to hide it). ≥ 0.6×.
3. Single-row REST writes: PATCH /api/v1/agents/<id>/ from 4 keep-alive connections, one
   agent each (requests/s while writing, the relay alongside). ≥ 0.9×. Beside it the same
   rounds counted until the relay has taken every change (for the record).
4. Retention: after the rounds the relay prunes the log to REALTIME_LOG_MAX_ROWS (set low
   here) and no pending change is left.

The commit → socket latency of raw-SQL writes and resume are in bench_realtime (they need
the 1,000 subscribers it opens).
"""

from __future__ import annotations

import logging
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

import httpx
import orjson
import psycopg
from django.conf import settings

from bench.bench_monitoring import (
    NO_LIMITS, ROWS, _bearer, _copy_baseline, _create_user, _database_urls, _metric_rows, _prepare_database, _result,
)
from bench.loadgen import http_load
from bench.servers import PROJECT_ROOT, DaphneServer

BURST = 5  # bulk writes per round
ROUNDS = 5  # per mode, alternating (off/on, on/off, ...) so drift hits both alike
REST_SECONDS = 4.0
REST_CONNECTIONS = 4
LOG_MAX_ROWS = 200  # low, so the prune is seen to bound the log within this run
DRAIN_TIMEOUT = 120.0


def _capture(on: bool) -> None:
    """Put the capture triggers on every published table, or take them off all of them."""
    from realtime.capture import sync_triggers

    saved = settings.REALTIME_PUBLISHED_TABLES
    settings.REALTIME_PUBLISHED_TABLES = saved if on else []
    try:
        sync_triggers()
    finally:
        settings.REALTIME_PUBLISHED_TABLES = saved


def _wait_drained(conn) -> float:
    """Seconds until the relay has taken every pending change."""
    start = time.perf_counter()
    while conn.execute("SELECT count(*) FROM realtime_pending_changes").fetchone()[0]:
        if time.perf_counter() - start > DRAIN_TIMEOUT:
            raise AssertionError(f"the relay left pending changes for {DRAIN_TIMEOUT:.0f} s")
        time.sleep(0.01)
    return time.perf_counter() - start


def _alternating(measure) -> tuple[list[float], list[float]]:
    """ROUNDS figures of `measure(on)` per mode, in the order off/on, on/off, ..."""
    figures: dict[bool, list[float]] = {True: [], False: []}
    for round_ in range(ROUNDS):
        for on in ((False, True) if round_ % 2 == 0 else (True, False)):
            _capture(on)
            figures[on].append(measure(on))
    _capture(True)
    return figures[True], figures[False]


def run() -> list[dict]:
    logging.getLogger("httpx").setLevel(logging.WARNING)
    base_url, bench_url = _database_urls()
    _prepare_database(base_url, bench_url)
    with psycopg.connect(bench_url, autocommit=True) as conn:
        conn.execute("TRUNCATE realtime_change_log, realtime_pending_changes")
        owner = _create_user(conn)
        agents = []
        for i in range(REST_CONNECTIONS + 1):
            agent = conn.execute("INSERT INTO agents (id, name, type, created_by) "
                                 "VALUES (gen_random_uuid(), %s, 'market', %s) RETURNING id",
                                 [f"capture bench {i}", owner]).fetchone()[0]
            agents.append(agent)
    rows = _metric_rows(agents[0])
    body = orjson.dumps({"rows": rows})
    headers = {**_bearer(owner), "Content-Type": "application/json"}
    env = {"DATABASE_URL": bench_url, "LOG_LEVEL": "WARNING", "REALTIME_LOG_MAX_ROWS": str(LOG_MAX_ROWS)}
    # as in `make serve`: the relay runs in another process (there, the websocket server's) than
    # the HTTP workers that write
    server = DaphneServer(**env, DATABASE_POOL="1", ECHELON_RATE_LIMITS=NO_LIMITS, REALTIME_RELAY="0")
    relay = subprocess.Popen([sys.executable, "manage.py", "relay"], cwd=PROJECT_ROOT, env=dict(os.environ, **env))
    try:
        with psycopg.connect(bench_url, autocommit=True) as conn, \
                httpx.Client(base_url=server.url, headers=headers, timeout=120) as http:

            relay_rates: list[float] = []

            def burst(write) -> Callable[[bool], float]:
                """A round: BURST writes back to back (timed; the relay works alongside), then, with
                capture on, the wait until the relay has handed every change on (its rate kept)."""
                def measure(on: bool) -> float:
                    start = time.perf_counter()
                    for _ in range(BURST):
                        write()
                    written = time.perf_counter() - start
                    if on:
                        relay_rates.append(BURST * ROWS / (written + _wait_drained(conn)))
                    return BURST * ROWS / written
                return measure

            def post() -> None:
                response = http.post("/api/v1/agent-metrics/bulk/", content=body)
                if response.status_code != 201:
                    raise AssertionError(f"bulk endpoint answered {response.status_code}: {response.text[:300]}")

            patches = [(server.port, f"/api/v1/agents/{agent}/", headers, "PATCH",
                        orjson.dumps({"description": f"capture bench {i}"})) for i, agent in enumerate(agents[1:])]

            rest_drained: list[float] = []

            def rest(on: bool) -> float:
                counts, elapsed = http_load(patches, concurrency=1, seconds=REST_SECONDS)
                answered = sum(c.get(200, 0) for c in counts)
                failed = sum(sum(c.values()) for c in counts) - answered
                if failed:
                    raise AssertionError(f"{failed} PATCHes were not answered 200: {counts}")
                if on:
                    rest_drained.append(answered / (elapsed + _wait_drained(conn)))
                return answered / elapsed

            ingest, copy = burst(post), burst(lambda: _copy_baseline(bench_url, rows))
            ingest(True), copy(True), rest(True)  # warm-up: first-use costs stay out of the figures
            relay_rates.clear()
            ingest_on, ingest_off = _alternating(ingest)
            ingest_relay, relay_rates[:] = list(relay_rates), []
            copy_on, copy_off = _alternating(copy)
            rest_drained.clear()
            rest_on, rest_off = _alternating(rest)
            log_rows, pending, pruned = _after_prune(conn)
        server.stop()
    finally:
        server.kill()
        relay.terminate()
        relay.wait(30)
    return [
        _result(f"capture on vs off: bulk metric ingestion ({BURST} x 10k-row POSTs, relay alongside)",
                statistics.median(ingest_on), statistics.median(ingest_off), 0.6, "rows/s"),
        _result(f"capture on vs off: plain psycopg COPY ({BURST} x 10k metric rows, relay alongside)",
                statistics.median(copy_on), statistics.median(copy_off), 0.6, "rows/s"),
        _reported("  the same ingestion until the relay handed every row on (sustained; vs off)",
                  ingest_relay, ingest_off, "rows/s"),
        _result(f"capture on vs off: single-row REST PATCH ({REST_CONNECTIONS} connections, relay alongside)",
                statistics.median(rest_on), statistics.median(rest_off), 0.9, "req/s"),
        _reported("  the same PATCHes until the relay handed every change on (vs off)", rest_drained, rest_off,
                  "req/s"),
        {"name": f"change log rows after a prune (REALTIME_LOG_MAX_ROWS={LOG_MAX_ROWS}); pending left",
         "value": log_rows, "baseline": pending, "ratio": None, "target": f"<= {LOG_MAX_ROWS}; 0 pending, pruned",
         "unit": "rows", "passed": log_rows <= LOG_MAX_ROWS and pending == 0 and pruned > 0},
    ]


def _reported(name: str, values: list[float], baselines: list[float], unit: str) -> dict:
    """A figure printed beside a target's row, for the record (medians; never a FAIL)."""
    return {**_result(name, statistics.median(values), statistics.median(baselines), 0, unit),
            "target": "report", "passed": True}


def _after_prune(conn) -> tuple[int, int, int]:
    """Wait for the relay's next prune (every 30 s); → (log rows, pending rows, pruned_through)."""
    start = time.monotonic()
    while True:
        log_rows = conn.execute("SELECT count(*) FROM realtime_change_log").fetchone()[0]
        if log_rows <= LOG_MAX_ROWS or time.monotonic() - start > 60:
            break
        time.sleep(0.5)
    pending = conn.execute("SELECT count(*) FROM realtime_pending_changes").fetchone()[0]
    pruned = conn.execute("SELECT pruned_through FROM realtime_relay_state").fetchone()
    return log_rows, pending, pruned[0] if pruned else 0
