"""Issue 17: HTTP through `make serve`'s topology vs one daphne process (today's `make run`).

Both run at once on the bench database with the bench settings (the raw-SQL view mounted): one
daphne process with the pool, and the topology (nginx → gunicorn sync workers, daphne for
websockets, Redis). The same keep-alive load (BENCH_CONCURRENCY connections, BENCH_HTTP_SECONDS
each) goes to one target at a time, in rounds (BENCH_HTTP_ROUNDS): each ratio is taken within a
round, between two loads run one after the other, and the median over the rounds is printed (the
machine's speed drifts by more than the margins within a minute), beside the median figures:

- agent list page of 50: topology ≥ 3x one daphne process, and ≥ 0.8x the raw-SQL view
  (`bench/views.py`) behind the same topology;
- dashboard of 1,000 agents: topology ≥ 2x one daphne process;
- retrieve and unread count through the topology: reported (req/s), with the raw view as the
  reference of a request that does almost nothing;
- the machine's cores busy under the list and dashboard loads, topology vs one daphne process
  (`bench.cores`, every process counted): reported, to tell a server that leaves cores idle from
  a machine that has none left.
"""

from __future__ import annotations

import json
import os
import statistics

from django.conf import settings

from bench.cores import CoresBusy
from bench.data import bench_user
from bench.loadgen import http_load
from bench.servers import DaphneServer, TopologyServer

SECONDS = float(os.environ.get("BENCH_HTTP_SECONDS", "4"))
ROUNDS = int(os.environ.get("BENCH_HTTP_ROUNDS", "5"))
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "16"))
NO_LIMITS = json.dumps({tier: {"requests": 1_000_000_000, "window_seconds": 60}
                        for tier in ("anonymous", "free", "pro", "enterprise")})


def server_env() -> dict:
    return {"DJANGO_SETTINGS_MODULE": "bench.settings", "DEBUG": "0", "ECHELON_RATE_LIMITS": NO_LIMITS,
            "LOG_LEVEL": "WARNING", "JWT_SIGNING_KEY": settings.SIMPLE_JWT["SIGNING_KEY"],
            "DATABASE_URL": os.environ["DATABASE_URL"]}


def rate(port: int, path: str, headers: dict, seconds: float = SECONDS) -> float:
    [counts], elapsed = http_load([(port, path, headers)], concurrency=CONCURRENCY, seconds=seconds)
    ok = counts.get(200, 0)
    if ok != sum(counts.values()):
        raise RuntimeError(f"{path} on {port}: not every answer was 200: {counts}")
    return ok / elapsed


def paired(figures: dict, side: tuple, base: tuple) -> tuple[float, float, float]:
    """(median of side, median of base, median of the per-round ratios side/base)."""
    ratios = [a / b for a, b in zip(figures[side], figures[base])]
    return statistics.median(figures[side]), statistics.median(figures[base]), statistics.median(ratios)


def row(name, figures, side, base, target, unit="req/s") -> dict:
    value, baseline, ratio = paired(figures, side, base)
    passed = True if target is None else ratio >= target
    return {"name": name, "value": value, "baseline": baseline, "ratio": ratio,
            "target": "report" if target is None else f">= {target}x", "passed": passed, "unit": unit}


def run() -> list[dict]:
    from agents.models import Agent
    from echelon.auth.tokens import access_token_for

    user = bench_user()
    headers = {"Authorization": f"Bearer {access_token_for(user)}"}
    agent = Agent.objects.filter(created_by=user).order_by("id").first()
    paths = {"list": "/api/v1/agents/?page_size=50", "raw": "/bench/raw-agents/?page_size=50",
             "dashboard": "/api/v1/agents/dashboard/", "retrieve": f"/api/v1/agents/{agent.pk}/",
             "unread": "/api/v1/notifications/unread-count/"}
    daphne = DaphneServer(DATABASE_POOL="1", **server_env())
    topology = None
    try:
        topology = TopologyServer(**server_env())
        plan = [("daphne", "list"), ("serve", "list"), ("serve", "raw"), ("daphne", "dashboard"),
                ("serve", "dashboard"), ("serve", "retrieve"), ("serve", "unread")]
        ports = {"daphne": daphne.port, "serve": topology.port}
        for side, kind in plan:  # warm-up: first-use costs (imports, pools, caches) stay out
            rate(ports[side], paths[kind], headers, seconds=1.0)
        figures: dict[tuple[str, str], list[float]] = {key: [] for key in plan}
        busy: dict[tuple[str, str], list[float]] = {key: [] for key in plan}
        for _ in range(ROUNDS):
            for side, kind in plan:
                with CoresBusy() as cores:
                    figures[(side, kind)].append(rate(ports[side], paths[kind], headers))
                busy[(side, kind)].append(cores.cores)
        exit_code = topology.stop()
    finally:
        daphne.kill()
        if topology is not None:
            topology.kill()
    conns = f"{CONCURRENCY} conns, median of {ROUNDS} rounds"
    return [
        row(f"[serve] agent list page of 50 vs one daphne process, {conns}", figures, ("serve", "list"),
            ("daphne", "list"), 3),
        row("[serve] agent list page of 50 vs the raw-SQL view, same topology", figures, ("serve", "list"),
            ("serve", "raw"), 0.8),
        row("[serve] dashboard 1,000 agents vs one daphne process", figures, ("serve", "dashboard"),
            ("daphne", "dashboard"), 2),
        row("[serve] cores busy under the agent list load: topology vs one daphne process", busy,
            ("serve", "list"), ("daphne", "list"), None, unit="cores"),
        row("[serve] cores busy under the dashboard load: topology vs one daphne process", busy,
            ("serve", "dashboard"), ("daphne", "dashboard"), None, unit="cores"),
        row("[serve] agent retrieve (vs the raw-SQL page)", figures, ("serve", "retrieve"), ("serve", "raw"), None),
        row("[serve] unread count (vs the raw-SQL page)", figures, ("serve", "unread"), ("serve", "raw"), None),
        {"name": "[serve] graceful stop: exit status", "value": exit_code, "baseline": 0, "ratio": None,
         "target": "0", "passed": exit_code == 0, "unit": "code"},
    ]
