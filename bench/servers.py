"""Server subprocesses and a small HTTP load generator for benchmarks (and subprocess tests).

`DaphneServer` runs `python -m daphne echelon.asgi:application` on a free port with extra
environment. `http_load` drives one server with keep-alive HTTP/1.1 connections from asyncio
raw sockets: a few microseconds of client CPU per request, so on a 2-core machine the load
generator takes as little as possible from the server it measures.
"""

from __future__ import annotations

import asyncio
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


class DaphneServer:
    """A daphne process serving Echelon; raises with its output when it cannot start or stop."""

    def __init__(self, **env: str):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        environment = dict(os.environ, PYTHONUNBUFFERED="1", **env)
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
        """Send `sig` and wait for the process to exit; return its exit code."""
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


async def _worker(port: int, request: bytes, deadline: float, counts: dict) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.perf_counter() < deadline:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
                    break
            await reader.readexactly(length)
            counts[status] = counts.get(status, 0) + 1
    finally:
        writer.close()


def _request_bytes(port: int, path: str, headers: dict) -> bytes:
    lines = [f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def http_load(targets: list[tuple[int, str, dict]], *, concurrency: int, seconds: float) -> tuple[list[dict], float]:
    """GET from every target `(port, path, headers)` at the same time, `concurrency` keep-alive
    connections each, for `seconds`; → ([{status: n} per target], elapsed)."""
    counts: list[dict] = [{} for _ in targets]

    async def main() -> float:
        start = time.perf_counter()
        await asyncio.gather(*(
            _worker(port, _request_bytes(port, path, headers), start + seconds, counts[i])
            for i, (port, path, headers) in enumerate(targets) for _ in range(concurrency)
        ))
        return time.perf_counter() - start

    return counts, asyncio.run(main())
