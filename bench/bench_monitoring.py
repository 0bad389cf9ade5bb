"""Monitoring benchmarks (issue 6), against daphne subprocesses on a separate database.

1. Metric ingestion: 10,000-row requests to POST /api/v1/agent-metrics/bulk/ (JSON over HTTP,
   validation, writability check, COPY) vs. a plain psycopg COPY of the same rows from this
   process. Rows/s, median of alternating repetitions. Target >= 0.5x.
2. Usage metering: requests/s of a tiny JWT-authenticated view on a server with
   ECHELON_METERING=1 vs. one with ECHELON_METERING=0, both under the same concurrent load at
   the same time. Target >= 0.95x. Then the metered server is stopped with SIGTERM and
   api_usage must hold exactly one row per request it answered.

Needs DATABASE_URL (`make bench` provides it); uses the database `echelon_bench` on that server.
"""

from __future__ import annotations

import logging
import os
import random
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

import httpx
import orjson
import psycopg

from bench.loadgen import http_load
from bench.servers import PROJECT_ROOT, DaphneServer

BENCH_DB = "echelon_bench"
ROWS = 10_000
INGEST_REPEATS = 5
METERING_ROUNDS = 4
ROUND_SECONDS = 4.0
CONCURRENCY = 6
NO_LIMITS = '{"free": {"requests": 1000000000, "window_seconds": 60}}'


def _database_urls() -> tuple[str, str]:
    base = os.environ.get("DATABASE_URL")
    if not base:
        raise SystemExit("bench_monitoring needs DATABASE_URL (run it with `make bench`).")
    return base, urlunsplit(urlsplit(base)._replace(path="/" + BENCH_DB))


def _prepare_database(base_url: str, bench_url: str) -> None:
    with psycopg.connect(base_url, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [BENCH_DB]).fetchone():
            conn.execute(f'CREATE DATABASE "{BENCH_DB}"')
    subprocess.run([sys.executable, "manage.py", "migrate", "--verbosity", "0"], cwd=PROJECT_ROOT, check=True,
                   env=dict(os.environ, DATABASE_URL=bench_url))
    with psycopg.connect(bench_url, autocommit=True) as conn:
        conn.execute("TRUNCATE agent_metrics, api_usage")


def _create_user(conn, tier: str = "free") -> uuid.UUID:
    user_id = uuid.uuid4()
    conn.execute("INSERT INTO users (id, email, subscription_tier) VALUES (%s, %s, %s)",
                 [user_id, f"bench-{user_id}@example.com", tier])
    return user_id


def _bearer(user_id: uuid.UUID) -> dict:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "echelon.settings")
    import django

    django.setup()
    from rest_framework_simplejwt.tokens import AccessToken

    from accounts.models import User

    return {"Authorization": f"Bearer {AccessToken.for_user(User(id=user_id))}"}


def _result(name, value, baseline, target, unit, passed=None) -> dict:
    ratio = value / baseline if baseline else 0.0
    return {"name": name, "value": value, "baseline": baseline, "ratio": ratio, "target": target,
            "passed": ratio >= target if passed is None else passed, "unit": unit}


# --- 1. ingestion --------------------------------------------------------------------------------
def _metric_rows(agent_id: uuid.UUID) -> list[dict]:
    rng = random.Random(6)
    start = datetime(2026, 11, 1, tzinfo=UTC)
    types = [("response_time", "ms"), ("cost", "usd"), ("success_rate", "percent"), ("tokens", "count")]
    rows = []
    for i in range(ROWS):
        metric_type, unit = types[i % len(types)]
        rows.append({"agent_id": str(agent_id), "metric_type": metric_type,
                     "value": round(rng.uniform(0, 5000), rng.randint(0, 4)), "unit": unit,
                     "metadata": {"run": i % 10, "host": "worker-1"},
                     "recorded_at": (start + timedelta(seconds=i)).isoformat()})
    return rows


def _copy_baseline(bench_url: str, rows: list[dict]) -> float:
    """Seconds for psycopg to COPY the rows (already tuples: the cheapest plain COPY)."""
    tuples = [(r["agent_id"], r["metric_type"], r["value"], r["unit"], orjson.dumps(r["metadata"]).decode(),
               r["recorded_at"]) for r in rows]
    with psycopg.connect(bench_url) as conn:
        start = time.perf_counter()
        with conn.cursor() as cursor, cursor.copy(
            "COPY agent_metrics (agent_id, metric_type, value, unit, metadata, recorded_at) FROM STDIN"
        ) as copy:
            for row in tuples:
                copy.write_row(row)
        conn.commit()
        return time.perf_counter() - start


def bench_ingestion(bench_url: str, env: dict) -> list[dict]:
    with psycopg.connect(bench_url, autocommit=True) as conn:
        owner = _create_user(conn)
        agent_id = uuid.uuid4()
        conn.execute("INSERT INTO agents (id, name, type, created_by) VALUES (%s, 'bench', 'market', %s)",
                     [agent_id, owner])
    rows = _metric_rows(agent_id)
    body = orjson.dumps({"rows": rows})
    headers = {**_bearer(owner), "Content-Type": "application/json"}
    server = DaphneServer(**env)
    copy_rates, endpoint_rates = [], []
    try:
        with httpx.Client(base_url=server.url, headers=headers, timeout=120) as http:
            http.post("/api/v1/agent-metrics/bulk/", content=body).raise_for_status()  # warm-up
            _copy_baseline(bench_url, rows)
            for _ in range(INGEST_REPEATS):
                copy_rates.append(ROWS / _copy_baseline(bench_url, rows))
                start = time.perf_counter()
                response = http.post("/api/v1/agent-metrics/bulk/", content=body)
                elapsed = time.perf_counter() - start
                if response.status_code != 201:
                    raise AssertionError(f"bulk endpoint answered {response.status_code}: {response.text[:500]}")
                endpoint_rates.append(ROWS / elapsed)
        server.stop()
    finally:
        server.kill()
    with psycopg.connect(bench_url) as conn:
        stored = conn.execute("SELECT count(*) FROM agent_metrics WHERE agent_id = %s", [agent_id]).fetchone()[0]
    expected = ROWS * (2 * INGEST_REPEATS + 2)
    if stored != expected:
        raise AssertionError(f"agent_metrics holds {stored} rows, expected {expected}")
    return [_result("ingestion: bulk endpoint vs psycopg COPY (10k rows/request)",
                    statistics.median(endpoint_rates), statistics.median(copy_rates), 0.5, "rows/s")]


# --- 2. metering -----------------------------------------------------------------------------------
def bench_metering(bench_url: str, env: dict) -> list[dict]:
    """Both servers are loaded at the same time, so background noise on a shared machine hits
    them alike; each gets its own connections, and the one that spends more CPU per request
    answers fewer of them."""
    with psycopg.connect(bench_url, autocommit=True) as conn:
        user_on, user_off = _create_user(conn), _create_user(conn)
    path = "/api/v1/bench/ping/"
    settings_env = {**env, "DJANGO_SETTINGS_MODULE": "bench.monitoring_settings"}
    server_on = DaphneServer(**settings_env, ECHELON_METERING="1")
    server_off = DaphneServer(**settings_env, ECHELON_METERING="0")
    targets = [(server_on.port, path, _bearer(user_on)), (server_off.port, path, _bearer(user_off))]
    answered_on = served_on = served_off = 0
    try:
        (warm_on, _), _ = http_load(targets, concurrency=CONCURRENCY, seconds=2.0)
        answered_on += sum(warm_on.values())
        for _ in range(METERING_ROUNDS):
            (on, off), _ = http_load(targets, concurrency=CONCURRENCY, seconds=ROUND_SECONDS)
            if set(on) != {200} or set(off) != {200}:
                raise AssertionError(f"unexpected statuses: metering on {on}, off {off}")
            answered_on += on[200]
            served_on += on[200]
            served_off += off[200]
        exit_code = server_on.stop()
        server_off.stop()
    finally:
        server_on.kill()
        server_off.kill()
    with psycopg.connect(bench_url) as conn:
        recorded = conn.execute("SELECT count(*) FROM api_usage WHERE user_id = %s", [user_on]).fetchone()[0]
        leaked = conn.execute("SELECT count(*) FROM api_usage WHERE user_id = %s", [user_off]).fetchone()[0]
    seconds = METERING_ROUNDS * ROUND_SECONDS
    return [
        _result("metering: req/s with metering on vs off (same time)", served_on / seconds, served_off / seconds,
                0.95, "req/s"),
        _result(f"metering: api_usage rows after SIGTERM (exit {exit_code}) vs requests answered",
                recorded, answered_on, 1.0, "rows", passed=recorded == answered_on and leaked == 0),
    ]


def run() -> list[dict]:
    logging.getLogger("httpx").setLevel(logging.WARNING)
    base_url, bench_url = _database_urls()
    _prepare_database(base_url, bench_url)
    env = {"DATABASE_URL": bench_url, "DATABASE_POOL": "1", "ECHELON_RATE_LIMITS": NO_LIMITS, "LOG_LEVEL": "WARNING"}
    return bench_ingestion(bench_url, env) + bench_metering(bench_url, env)
