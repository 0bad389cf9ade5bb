"""A small HTTP/1.1 keep-alive load generator (asyncio streams), fast enough not to be the
bottleneck on a 2-core machine (a few microseconds of client CPU per request), with no
dependency beyond the standard library. `http_load` drives several targets at once (e.g. two
servers measured side by side); `load` is one target that must answer 200 every time."""

from __future__ import annotations

import asyncio
import time


async def _worker(host: str, port: int, request: bytes, deadline: float, counts: dict[int, int]) -> None:
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
                    break
            if length:
                await reader.readexactly(length)
            counts[status] = counts.get(status, 0) + 1
    finally:
        writer.close()


def _request_bytes(host: str, port: int, path: str, headers: dict, method: str = "GET", body: bytes = b"") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}", "Connection: keep-alive",
             *(f"{k}: {v}" for k, v in headers.items())]
    if body:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def http_load(targets: list[tuple], *, concurrency: int, seconds: float,
              host: str = "127.0.0.1") -> tuple[list[dict[int, int]], float]:
    """Request every target `(port, path, headers)` — or `(port, path, headers, method, body)` —
    at the same time, `concurrency` keep-alive connections each, for `seconds`;
    → ([{status: n} per target], elapsed)."""
    counts: list[dict[int, int]] = [{} for _ in targets]

    async def main() -> float:
        start = time.perf_counter()
        await asyncio.gather(*(
            _worker(host, target[0], _request_bytes(host, *target), start + seconds, counts[i])
            for i, target in enumerate(targets) for _ in range(concurrency)
        ))
        return time.perf_counter() - start

    return counts, asyncio.run(main())


def load(host: str, port: int, path: str, *, headers: dict, seconds: float, concurrency: int) -> float:
    """Requests per second of 200 responses; raises if any response was not 200."""
    [counts], elapsed = http_load([(port, path, headers)], concurrency=concurrency, seconds=seconds, host=host)
    ok = counts.get(200, 0)
    failed = sum(counts.values()) - ok
    if failed:
        raise RuntimeError(f"{failed} of {ok + failed} responses to {path} were not 200: {counts}")
    return ok / elapsed
