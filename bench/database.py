"""The bench database: `echelon_bench` beside the database DATABASE_URL names."""

from __future__ import annotations

import os
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

BENCH_DB = "echelon_bench"


def bench_database_url(base_url: str) -> str:
    """Create `echelon_bench` on base_url's server if missing; return its URL."""
    parts = urlsplit(base_url)
    url = urlunsplit(parts._replace(path=f"/{BENCH_DB}"))
    with psycopg.connect(_libpq(base_url), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [BENCH_DB]).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(BENCH_DB)))
    return url


def _libpq(url: str) -> str:
    # libpq understands postgresql:// URIs, including a percent-encoded socket directory as host.
    return "postgresql://" + url.split("://", 1)[1]


def use_bench_database() -> str:
    """Point DATABASE_URL at the bench database (starting the embedded server if needed)."""
    base = os.environ.get("DATABASE_URL")
    if not base:
        from echelon.embedded_pg import start

        base = start()
    url = bench_database_url(base)
    os.environ["DATABASE_URL"] = url
    return url


def libpq_url() -> str:
    return _libpq(os.environ["DATABASE_URL"])
