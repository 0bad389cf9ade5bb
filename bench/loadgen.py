"""A small HTTP/1.1 keep-alive load generator (asyncio streams), fast enough not to be the
bottleneck on a 2-core machine, with no dependency beyond the standard library."""

from __future__ import annotations

import asyncio
import time


async def _worker(host: str, port: int, request: bytes, deadline: float, counts: list[int]) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < deadline:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            if length:
                await reader.readexactly(length)
            counts[0 if status == 200 else 1] += 1
    finally:
        writer.close()


async def _load(host, port, path, headers, seconds, concurrency) -> tuple[int, int, float]:
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}", "Connection: keep-alive"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode()
    counts = [0, 0]
    started = time.perf_counter()
    deadline = started + seconds
    await asyncio.gather(*(_worker(host, port, request, deadline, counts) for _ in range(concurrency)))
    return counts[0], counts[1], time.perf_counter() - started


def load(host: str, port: int, path: str, *, headers: dict, seconds: float, concurrency: int) -> float:
    """Requests per second of 200 responses; raises if any response was not 200."""
    ok, failed, elapsed = asyncio.run(_load(host, port, path, headers, seconds, concurrency))
    if failed:
        raise RuntimeError(f"{failed} of {ok + failed} responses to {path} were not 200")
    return ok / elapsed
