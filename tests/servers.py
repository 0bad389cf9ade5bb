"""Helpers of the tests that start real server processes: the repository root, a free port,
the URL of the database pytest-django created (for a subprocess to share it), a server's process."""

from __future__ import annotations

import socket

import psutil
import pytest
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings as django_settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def live_database_url() -> str:
    """DATABASE_URL of the database pytest-django created for this run."""
    parts = urlsplit(django_settings.DATABASE_URL)
    return urlunsplit(parts._replace(path="/" + connection.settings_dict["NAME"]))


def psql(sql: str) -> str:
    """Run `sql` with the real `psql` client (PostgreSQL's own, shipped in the pgserver wheel)
    against this run's test database: a writer outside Echelon, as a data fix or n8n would be."""
    import subprocess

    import pgserver

    binary = Path(pgserver.__file__).parent / "pginstall" / "bin" / "psql"
    done = subprocess.run([str(binary), live_database_url(), "-v", "ON_ERROR_STOP=1", "-c", sql],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def outside_connection(autocommit: bool = False):
    """A psycopg connection to the test database that Django knows nothing of: a writer outside
    Echelon (psql, n8n's Postgres node, another service)."""
    from realtime.relay import direct_connection

    return direct_connection(autocommit=autocommit)


def server_process(port: int) -> psutil.Process:
    """The daphne child process of this test serving `port` (to measure or kill it)."""
    for child in psutil.Process().children(recursive=True):
        try:
            if str(port) in child.cmdline() and "daphne" in " ".join(child.cmdline()):
                return child
        except psutil.NoSuchProcess:
            continue
    pytest.fail(f"no daphne child process serving port {port}")
