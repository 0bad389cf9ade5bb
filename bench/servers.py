"""Server subprocesses for benchmarks (and subprocess tests).

`DaphneServer` runs `python -m daphne echelon.asgi:application` on a free port with extra
environment. The HTTP load generator that drives them is `bench.loadgen`.
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

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _default_sigint() -> None:
    """In the child before exec: SIGINT back to its default. A `make test &` started by a script
    (no job control) runs with SIGINT ignored, which every child inherits, so a server told to
    stop with SIGINT never did and its test waited 30 s for nothing (issue 13)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def wait_for_relay(database_url: str, timeout: float = 30) -> None:
    """Until a change relay leads on the database and nothing captured is pending: a server's
    relay (a child process) takes a moment to start, and what was written before it would
    otherwise reach sockets that join meanwhile."""
    import psycopg

    from realtime.relay import leader_present

    deadline = time.monotonic() + timeout
    with psycopg.connect("postgresql://" + database_url.split("://", 1)[1], autocommit=True) as conn:
        while not (leader_present(conn)
                   and not conn.execute("SELECT EXISTS (SELECT 1 FROM realtime_pending_changes)").fetchone()[0]):
            if time.monotonic() > deadline:
                raise AssertionError(f"no change relay led within {timeout:.0f} s")
            time.sleep(0.05)


def wait_for_relay_exit(database_url: str, server_pid: int, timeout: float = 30) -> None:
    """Until the relay child of the stopped server `server_pid` left the database: it exits on
    its own (stdin EOF) a moment after its server; the next server's relay should lead from its
    start, and a test database cannot be dropped while it is connected."""
    import psycopg

    from realtime.relay import relay_connected

    deadline = time.monotonic() + timeout
    with psycopg.connect("postgresql://" + database_url.split("://", 1)[1], autocommit=True) as conn:
        while relay_connected(conn, server_pid):
            if time.monotonic() > deadline:
                raise AssertionError(f"a relay process stayed connected {timeout:.0f} s after its server stopped")
            time.sleep(0.05)


class DaphneServer:
    """A daphne process serving Echelon; raises with its output when it cannot start or stop."""

    def __init__(self, **env: str):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        environment = self.environment = dict(os.environ, PYTHONUNBUFFERED="1", PYTHONFAULTHANDLER="1", **env)
        self.log = tempfile.NamedTemporaryFile("w+", prefix=f"daphne-{self.port}-", suffix=".log", delete=False)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port), "echelon.asgi:application"],
            cwd=PROJECT_ROOT, env=environment, stdout=self.log, stderr=subprocess.STDOUT,
            preexec_fn=_default_sigint,
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
                    pass
            except OSError:
                time.sleep(0.1)
                continue
            if self.environment.get("REALTIME_RELAY") != "0" and self.environment.get("DATABASE_URL"):
                wait_for_relay(self.environment["DATABASE_URL"])
            return
        self.kill()
        raise AssertionError(f"daphne did not listen on {self.port} within {timeout}s:\n{self.output()}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        """Send `sig` and wait for the process to exit; return its exit code."""
        self.process.send_signal(sig)
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            # Python's faulthandler (PYTHONFAULTHANDLER, below) prints every thread's stack on
            # SIGABRT: the output then says where the stop hung.
            self.process.send_signal(signal.SIGABRT)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                pass
            self.kill()
            raise AssertionError(f"daphne did not stop within {timeout}s after {sig!r}:\n{self.output()}") from None
        if self.environment.get("REALTIME_RELAY") != "0" and self.environment.get("DATABASE_URL"):
            wait_for_relay_exit(self.environment["DATABASE_URL"], self.process.pid)
        return code

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self.log.close()


class TopologyServer:
    """`make serve`'s topology (`python -m echelon.serving`) in a private run directory.

    Process counts default to the topology's own (2 HTTP workers and 1 websocket process per core).
    `env` is added to the environment (DATABASE_URL, REDIS_URL, DJANGO_SETTINGS_MODULE, …); without
    REDIS_URL the topology starts its own Redis. `stop()` sends SIGTERM (the graceful drain) and
    returns the exit status; `kill()` stops it whatever state it is in.
    """

    def __init__(self, *, http_workers: int | None = None, websocket_processes: int | None = None, args: tuple = (),
                 queue_workers: int = 0, **env: str):
        self.port, self.metrics_port = free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.run_dir = Path(tempfile.mkdtemp(prefix="echelon-serve-"))
        environment = dict(os.environ, PYTHONUNBUFFERED="1", **env)
        if "REDIS_URL" not in env:
            environment.pop("REDIS_URL", None)  # the topology starts its private Redis
        self.log = open(self.run_dir / "serve.log", "w+")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "echelon.serving", "--port", str(self.port), "--metrics-port", str(self.metrics_port),
             *(["--http-workers", str(http_workers)] if http_workers else []),
             *(["--websocket-processes", str(websocket_processes)] if websocket_processes else []),
             "--no-demo", "--queue-workers", str(queue_workers), "--run-dir", str(self.run_dir), *args],
            cwd=PROJECT_ROOT, env=environment, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 180
        while "Ctrl-C stops everything" not in self.output():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.kill()
                raise AssertionError(f"the topology did not start:\n{self.output()}")
            time.sleep(0.2)

    def output(self) -> str:
        return (self.run_dir / "serve.log").read_text()

    def pids(self) -> list[int]:
        """The supervisor and every process below it (for RSS figures)."""
        import psutil

        root = psutil.Process(self.process.pid)
        return [root.pid] + [child.pid for child in root.children(recursive=True)]

    def stop(self, timeout: float = 120) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)

    def kill(self) -> None:
        """SIGTERM first (the children run in sessions of their own: the supervisor stops them)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(90)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        pid_file = self.run_dir / "nginx.pid"
        if pid_file.exists():  # SIGTERM: nginx's fast stop takes its workers along (SIGKILL would orphan them)
            try:
                os.kill(int(pid_file.read_text()), signal.SIGTERM)
            except (ProcessLookupError, ValueError):
                pass
        self.log.close()
