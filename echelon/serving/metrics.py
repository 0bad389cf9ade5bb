"""Prometheus metrics (prometheus_client, the Prometheus project's own client library).

What is measured: HTTP requests by route pattern, method and status (rate) and their latency by
route (histogram); open realtime sockets and changes delivered to them; the database pool of
each process (size, idle, waiting requests); and the change-capture relay's lag, a gauge the
relay sets once it exists. Several processes (HTTP workers, the websocket server) share one
directory of counters when `PROMETHEUS_MULTIPROC_DIR` is set (the topology sets it), and any
worker's `/metrics` then answers for all of them.

`/metrics` is for the operators' network only: it answers 404 to a request that came through
the public front (the proxy adds `X-Forwarded-For`) or from a non-loopback address, unless
`ECHELON_METRICS_PUBLIC` is on. The topology serves it on a listener of its own bound to
127.0.0.1 (`METRICS_PORT`), for a Prometheus on the same machine or a tunnel.
"""

from __future__ import annotations

import os
import time

from django.conf import settings
from django.http import HttpResponse, HttpResponseNotFound
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

_MULTIPROCESS = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
_LIVE = {"multiprocess_mode": "livesum"}  # gauges summed over the processes alive

HTTP_REQUESTS = Counter("echelon_http_requests", "HTTP requests answered", ["route", "method", "status"])
HTTP_LATENCY = Histogram("echelon_http_request_duration_seconds", "Time in Django per request", ["route", "method"],
                         buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
REALTIME_SOCKETS = Gauge("echelon_realtime_open_sockets", "Open realtime websockets", **_LIVE)
REALTIME_DELIVERIES = Counter("echelon_realtime_deliveries", "Changes written to realtime sockets")
DB_POOL = Gauge("echelon_db_pool_connections", "Database pool connections of the process", ["state"], **_LIVE)
RELAY_LAG = Gauge("echelon_relay_lag_seconds", "Change-capture relay: commit to publish", multiprocess_mode="max")

POOL_SAMPLE_SECONDS = 1.0
_pool_sampled = 0.0


def sample_pool() -> None:
    """Copy the pool's statistics into DB_POOL, at most once a second (called after requests)."""
    global _pool_sampled
    now = time.monotonic()
    if now - _pool_sampled < POOL_SAMPLE_SECONDS:
        return
    _pool_sampled = now
    from django.db import connection

    pool = getattr(connection, "pool", None)
    if pool is None:
        return
    stats = pool.get_stats()
    size, idle = stats.get("pool_size", 0), stats.get("pool_available", 0)
    DB_POOL.labels("open").set(size)
    DB_POOL.labels("idle").set(idle)
    DB_POOL.labels("lent").set(size - idle)
    DB_POOL.labels("waiting").set(stats.get("requests_waiting", 0))


def exposition() -> bytes:
    if _MULTIPROCESS:
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest()


def _allowed(request) -> bool:
    if getattr(settings, "ECHELON_METRICS_PUBLIC", False):
        return True
    if "HTTP_X_FORWARDED_FOR" in request.META:
        return False
    return request.META.get("REMOTE_ADDR", "") in ("127.0.0.1", "::1")


def metrics_response(request) -> HttpResponse:
    if not _allowed(request):
        return HttpResponseNotFound(b"Not Found", content_type="text/plain")
    sample_pool()
    return HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)


def child_exit(pid: int) -> None:
    """Gunicorn's `child_exit` hook: a dead worker's live gauges leave the sums."""
    if _MULTIPROCESS:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)
