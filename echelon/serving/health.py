"""Health for load balancers: `/healthz` (this process answers) and `/readyz` (what it needs
is reachable).

Readiness is a small registry of named checks, so other parts add theirs where they live
(`register("relay", check)` from the change-capture relay, for instance). A check is a function
that returns nothing when all is well and raises (or returns a message) when not; each one is
given a short time budget of its own, since a load balancer polls every few seconds and must not
see a hung dependency as a hung process. The built-in checks: PostgreSQL (`SELECT 1` over the
process' usual connection, so the pool is exercised too), Redis (PING, when `REDIS_URL` is set)
and draining (a file named by `ECHELON_DRAIN_FILE` exists: the machine is being taken out of the
load balancer before a deploy).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from django.conf import settings

from echelon.outage import one_line

Check = Callable[[], str | None]
_checks: dict[str, Check] = {}


def register(name: str, check: Check) -> None:
    """Add (or replace) a readiness check; `/readyz` fails while any check fails."""
    _checks[name] = check


def unregister(name: str) -> None:
    _checks.pop(name, None)


def registered() -> list[str]:
    return list(_checks)


def run_checks() -> tuple[bool, dict[str, dict]]:
    """→ (all ok, {name: {"ok", "ms", "error"?}}), every check run once, in registration order."""
    results: dict[str, dict] = {}
    for name, check in list(_checks.items()):
        started = time.perf_counter()
        try:
            problem = check()
        except Exception as exc:  # noqa: BLE001 - any failure means "not ready", reported by name
            problem = one_line(exc)
        result = {"ok": problem is None, "ms": round((time.perf_counter() - started) * 1000, 2)}
        if problem is not None:
            result["error"] = str(problem)[:300]
        results[name] = result
    return all(r["ok"] for r in results.values()), results


# --- built-in checks ----------------------------------------------------------------------------
def check_postgresql() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


_redis_clients: dict[str, object] = {}


def check_redis() -> str | None:
    url = getattr(settings, "REDIS_URL", "")
    if not url:
        return None  # one process alone needs no Redis (docs/realtime.md)
    client = _redis_clients.get(url)
    if client is None:
        import redis

        client = _redis_clients[url] = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
    client.ping()
    return None


def check_not_draining() -> str | None:
    path = getattr(settings, "ECHELON_DRAIN_FILE", "")
    if path and os.path.exists(path):
        return f"draining ({path} exists)"
    return None


register("postgresql", check_postgresql)
register("redis", check_redis)
register("draining", check_not_draining)
