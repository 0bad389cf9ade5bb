"""Issue 3's benchmarks.

(a) Dashboard for a user with 1,000 agents among 11,000: Echelon's path (the
    `agent_dashboard` selector + orjson, as the view runs it) vs. the seed's LATERAL SQL run
    through psycopg and encoded with orjson. p50 ratio, target <= 1.5x.
(b) HTTP `GET /api/v1/agents/?page_size=50` under concurrent load vs. a minimal raw-SQL view
    returning the same rows (bench/views.py), both served by one daphne process. Throughput
    ratio, target >= 0.6x.
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import orjson
import psycopg

from bench.data import bench_user
from bench.database import libpq_url
from bench.loadgen import load

SEED_DASHBOARD_SQL = """
SELECT
  a.*,
  d.status as deployment_status,
  d.deployed_at,
  w.execution_count,
  w.success_count,
  w.error_count
FROM agents a
LEFT JOIN LATERAL (
  SELECT status, deployed_at
  FROM deployments
  WHERE agent_id = a.id
  ORDER BY created_at DESC
  LIMIT 1
) d ON true
LEFT JOIN LATERAL (
  SELECT execution_count, success_count, error_count
  FROM workflows
  WHERE agent_id = a.id
  ORDER BY created_at DESC
  LIMIT 1
) w ON true
WHERE a.created_by = %s
ORDER BY a.updated_at DESC
"""
RUNS = int(os.environ.get("BENCH_RUNS", "40"))
HTTP_SECONDS = float(os.environ.get("BENCH_HTTP_SECONDS", "5"))
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "16"))


def _result(name, value, baseline, target, unit, lower_is_better):
    ratio = value / baseline
    passed = ratio <= target if lower_is_better else ratio >= target
    return {"name": name, "value": value, "baseline": baseline, "ratio": ratio,
            "target": f"{'<=' if lower_is_better else '>='} {target}x", "passed": passed, "unit": unit}


def bench_dashboard(user) -> dict:
    from workflows.selectors import agent_dashboard
    from echelon.api.responses import dumps

    def echelon() -> bytes:
        return dumps(agent_dashboard(user=user))

    with psycopg.connect(libpq_url()) as conn:
        def seed() -> bytes:
            with conn.cursor() as cur:
                cur.execute(SEED_DASHBOARD_SQL, [user.pk])
                names = [column.name for column in cur.description]
                return orjson.dumps([dict(zip(names, row)) for row in cur.fetchall()], option=orjson.OPT_UTC_Z)

        mine, theirs = orjson.loads(echelon()), orjson.loads(seed())
        assert len(mine) == len(theirs) == 1000, (len(mine), len(theirs))
        assert [r["id"] for r in mine] == [r["id"] for r in theirs], "dashboards disagree on rows or order"
        for _ in range(3):
            echelon(), seed()
        ours, base = [], []
        for _ in range(RUNS):  # interleaved so drift hits both alike
            t = time.perf_counter(); echelon(); ours.append(time.perf_counter() - t)  # noqa: E702
            t = time.perf_counter(); seed(); base.append(time.perf_counter() - t)  # noqa: E702
    return _result("dashboard 1,000 agents, p50", statistics.median(ours) * 1000,
                   statistics.median(base) * 1000, 1.5, "ms", lower_is_better=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_until_up(port: int, proc: subprocess.Popen) -> None:
    for _ in range(200):
        if proc.poll() is not None:
            raise RuntimeError("daphne exited during start-up")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/schema/", timeout=1)
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("daphne did not start")


def _get(port, path, token) -> dict:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Authorization": f"Bearer {token}"})
    return orjson.loads(urllib.request.urlopen(request, timeout=10).read())


def bench_http(user) -> dict:
    from echelon.auth.tokens import access_token_for

    token = access_token_for(user)
    port = _free_port()
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="bench.settings", DATABASE_POOL="1", DEBUG="0",
               SECRET_KEY=os.environ.get("SECRET_KEY", "bench-secret-" + "x" * 40),
               # the benchmark user would hit its tier's quota within a second (429s are not served pages)
               ECHELON_RATE_LIMITS='{"free": {"requests": 1000000000, "window_seconds": 60}}')
    from django.conf import settings

    env["JWT_SIGNING_KEY"] = settings.SIMPLE_JWT["SIGNING_KEY"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "echelon.asgi:application"],
        env=env, cwd=Path(__file__).resolve().parent.parent, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        _wait_until_up(port, proc)
        api, raw = "/api/v1/agents/?page_size=50", "/bench/raw-agents/?page_size=50"
        ours, base = _get(port, api, token)["results"], _get(port, raw, token)["results"]
        assert ours == base, "the API and the raw view disagree"
        headers = {"Authorization": f"Bearer {token}"}
        for path in (api, raw):
            load("127.0.0.1", port, path, headers=headers, seconds=1.5, concurrency=CONCURRENCY)
        api_rps, raw_rps = [], []
        for _ in range(2):  # alternate so drift hits both alike
            api_rps.append(load("127.0.0.1", port, api, headers=headers, seconds=HTTP_SECONDS,
                                concurrency=CONCURRENCY))
            raw_rps.append(load("127.0.0.1", port, raw, headers=headers, seconds=HTTP_SECONDS,
                                concurrency=CONCURRENCY))
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
    return _result(f"GET /api/v1/agents/?page_size=50, {CONCURRENCY} conns", statistics.mean(api_rps),
                   statistics.mean(raw_rps), 0.6, "req/s", lower_is_better=False)


def run() -> list[dict]:
    user = bench_user()
    return [bench_dashboard(user), bench_http(user)]
