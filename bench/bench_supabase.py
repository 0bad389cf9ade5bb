"""Issue 16's benchmarks: `/rest/v1` against `/api/v1` and the seed's SQL, in the same run.

(a) HTTP `GET /rest/v1/agents?select=*&limit=50` vs `GET /api/v1/agents/?page_size=50`, the
    same user, one daphne process, 16 keep-alive connections, alternated. Throughput ratio,
    target >= 0.9x.
(b) 1,000 agents with their deployments and workflows embedded (PostgREST grammar, the
    dashboard's data: the newest deployment's status and time, the newest workflow's counters)
    through the `/rest/v1` read path in process (plan, SQL, PostgreSQL's JSON) vs. the seed's
    dashboard SQL via psycopg + orjson (bench_api's baseline). p50 ratio, target <= 1.5x.
(c) the same 1,000 agents with every deployment and workflow embedded whole (`*`: seven times
    the rows of (b)). The seed's SQL returns one row per agent, so its baseline is the same data
    the fastest plain way: three SQL queries (the user's agents, their deployments, their
    workflows but the secret) via psycopg, nested in Python and encoded with orjson. p50 ratio,
    target <= 1.5x.
"""

from __future__ import annotations

import os
import statistics
import time

import orjson
import psycopg

from bench.bench_api import (
    CONCURRENCY,
    HTTP_SECONDS,
    RUNS,
    SEED_DASHBOARD_SQL,
    _get,
    _result,
    _wait_until_up,
)
from bench.data import bench_user
from bench.database import libpq_url
from bench.loadgen import load
from bench.servers import DaphneServer

DASHBOARD = ("select=*,deployments(status,deployed_at),workflows(execution_count,success_count,error_count)"
             "&deployments.order=created_at.desc&deployments.limit=1&workflows.order=created_at.desc"
             "&workflows.limit=1&order=updated_at.desc&limit=1000")
EVERYTHING = "select=*,deployments(*),workflows(*)&order=updated_at.desc&limit=1000"


def _rest_reader(user, query: str):
    """The `/rest/v1` read path for `user` without HTTP: parse, plan, one statement, the body."""
    from django.http import QueryDict
    from rest_framework.request import Request
    from rest_framework.test import APIRequestFactory

    from supabase_api.rest import grammar
    from supabase_api.rest.plan import plan
    from supabase_api.rest.reads import Bases, read

    django_request = APIRequestFactory().get("/rest/v1/agents?" + query)
    request = Request(django_request)
    request.user = user
    params = QueryDict(query)

    def run() -> bytes:
        parsed = grammar.parse_query((k, v) for k, values in params.lists() for v in values)
        node = plan("agents", parsed, user)
        return read(node, Bases(request), user, limit=parsed.limit.get(())).body

    return run


MINE = "(a.created_by = %(user)s OR a.team_id IN (SELECT team_id FROM user_roles WHERE user_id = %(user)s))"
EVERYTHING_SQL = (
    f"SELECT a.* FROM agents a WHERE {MINE} ORDER BY a.updated_at DESC",
    f"SELECT d.* FROM deployments d JOIN agents a ON a.id = d.agent_id WHERE {MINE}",
    "SELECT w.id, w.agent_id, w.name, w.description, w.n8n_workflow_id, w.trigger_config, w.status, "
    "w.last_execution, w.next_execution, w.execution_count, w.success_count, w.error_count, w.created_at, "
    f"w.updated_at FROM workflows w JOIN agents a ON a.id = w.agent_id WHERE {MINE}",
)


def _rows(cur, sql, params) -> list[dict]:
    cur.execute(sql, params)
    names = [column.name for column in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def dashboard_sql(conn, user):
    """The seed's dashboard SQL, psycopg + orjson (bench_api's baseline)."""
    def run() -> bytes:
        with conn.cursor() as cur:
            return orjson.dumps(_rows(cur, SEED_DASHBOARD_SQL, [user.pk]), option=orjson.OPT_UTC_Z)

    return run


def everything_sql(conn, user):
    """The agents with all their deployments and workflows: three queries, nested in Python."""
    def run() -> bytes:
        params = {"user": user.pk}
        with conn.cursor() as cur:
            agents, deployments, workflows = (_rows(cur, sql, params) for sql in EVERYTHING_SQL)
        by_id = {a["id"]: {**a, "deployments": [], "workflows": []} for a in agents}
        for key, children in (("deployments", deployments), ("workflows", workflows)):
            for child in children:
                by_id[child["agent_id"]][key].append(child)
        return orjson.dumps(list(by_id.values()), option=orjson.OPT_UTC_Z)

    return run


def bench_embeds(user, name: str, query: str, baseline) -> dict:
    ours = _rest_reader(user, query)
    with psycopg.connect(libpq_url()) as conn:
        seed = baseline(conn, user)

        mine, theirs = orjson.loads(ours()), orjson.loads(seed())
        assert len(mine) == len(theirs) == 1000, (len(mine), len(theirs))
        assert [r["id"] for r in mine] == [r["id"] for r in theirs], "the two disagree on rows or order"
        for _ in range(3):
            ours(), seed()
        times, base = [], []
        for _ in range(RUNS):  # interleaved so drift hits both alike
            t = time.perf_counter(); ours(); times.append(time.perf_counter() - t)  # noqa: E702
            t = time.perf_counter(); seed(); base.append(time.perf_counter() - t)  # noqa: E702
    return _result(name, statistics.median(times) * 1000, statistics.median(base) * 1000, 1.5, "ms",
                   lower_is_better=True)


def bench_http(user) -> dict:
    from django.conf import settings

    from echelon.auth.tokens import access_token_for, anon_key

    token = access_token_for(user)
    server = DaphneServer(DJANGO_SETTINGS_MODULE="bench.settings", DATABASE_POOL="1", DEBUG="0",
                          SECRET_KEY=os.environ.get("SECRET_KEY", "bench-secret-" + "x" * 40),
                          JWT_SIGNING_KEY=settings.SIMPLE_JWT["SIGNING_KEY"],
                          ECHELON_RATE_LIMITS='{"free": {"requests": 1000000000, "window_seconds": 60}}')
    try:
        _wait_until_up(server.port, server.process)
        api, rest = "/api/v1/agents/?page_size=50", "/rest/v1/agents?select=*&limit=50"
        api_headers = {"Authorization": f"Bearer {token}"}
        rest_headers = {**api_headers, "apikey": anon_key()}
        assert len(_get(server.port, api, token)["results"]) == 50
        for path, headers in ((api, api_headers), (rest, rest_headers)):
            load("127.0.0.1", server.port, path, headers=headers, seconds=1.5, concurrency=CONCURRENCY)
        api_rps, rest_rps = [], []
        for _ in range(2):  # alternate so drift hits both alike
            rest_rps.append(load("127.0.0.1", server.port, rest, headers=rest_headers, seconds=HTTP_SECONDS,
                                 concurrency=CONCURRENCY))
            api_rps.append(load("127.0.0.1", server.port, api, headers=api_headers, seconds=HTTP_SECONDS,
                                concurrency=CONCURRENCY))
    finally:
        server.stop()
        server.kill()
    return _result(f"GET /rest/v1/agents?select=*&limit=50 vs /api/v1 list, {CONCURRENCY} conns",
                   statistics.mean(rest_rps), statistics.mean(api_rps), 0.9, "req/s", lower_is_better=False)


def run() -> list[dict]:
    user = bench_user()
    return [
        bench_http(user),
        bench_embeds(user, "/rest/v1 1,000 agents + newest deployment/workflow vs seed SQL, p50", DASHBOARD,
                     dashboard_sql),
        bench_embeds(user, "/rest/v1 1,000 agents + all deployments/workflows vs 3 SQL, p50", EVERYTHING,
                     everything_sql),
    ]
