"""Bench helper process: many websocket subscribers that time every change they receive.

`python -m bench.realtime_subscribers SPEC_FILE`; SPEC: {"url", "sockets": [{"token", "user"}],
"bindings": [...] | null (floor mode: no join), "user_teams": {user: team}, "agent_teams":
{agent: team}, "stall": true (optional: the sockets stop reading once joined, as a client that
hangs)}. Prints READY when every socket is joined, then obeys stdin lines: RESET (clear the
figures), DUMP (print them as one JSON line), RESUME (stalled sockets read again), QUIT.

A minimal websocket client on an asyncio Protocol: it only splits frames and stamps their
arrival time; JSON is parsed at DUMP. A full client library spent ~100 µs per message here,
which at 1,000 sockets measured the client instead of the server.
Latency = arrival time - the change's commit_timestamp (set just before the bus PUBLISH).
"""

from __future__ import annotations

import asyncio
import base64
import datetime
import os
import struct
import sys
import time
from urllib.parse import urlsplit

import orjson

_epochs: dict[str, float] = {}


def epoch(stamp: str) -> float:
    value = _epochs.get(stamp)
    if value is None:
        moment = datetime.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.UTC)
        value = _epochs[stamp] = moment.timestamp()
    return value


def client_frame(opcode: int, payload: bytes) -> bytes:
    """A masked client frame."""
    mask = os.urandom(4)
    length = len(payload)
    if length < 126:
        header = struct.pack("!BB", 0x80 | opcode, 0x80 | length)
    elif length < 65536:
        header = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, length)
    else:
        header = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, length)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return header + mask + masked


class Subscriber(asyncio.Protocol):
    def __init__(self, path: str, host: str, sink: list) -> None:
        self.path, self.host, self.sink = path, host, sink
        self.buffer = b""
        self.handshaken = asyncio.get_running_loop().create_future()
        self.first_texts: asyncio.Queue = asyncio.Queue()
        self.joined = False
        self.closed = False
        self.close_code: int | None = None

    def connection_made(self, transport) -> None:
        self.transport = transport
        key = base64.b64encode(os.urandom(16)).decode()
        transport.write((f"GET {self.path} HTTP/1.1\r\nHost: {self.host}\r\nUpgrade: websocket\r\n"
                         f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())

    def send_text(self, text: str) -> None:
        self.transport.write(client_frame(0x1, text.encode()))

    def data_received(self, data: bytes) -> None:
        now = time.time()
        self.buffer += data
        if not self.handshaken.done():
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            status = self.buffer[:end].split(b"\r\n", 1)[0]
            self.buffer = self.buffer[end + 4:]
            if b" 101 " not in status:
                self.handshaken.set_exception(RuntimeError(status.decode()))
                return
            self.handshaken.set_result(True)
        buf = self.buffer
        pos = 0
        while len(buf) - pos >= 2:
            b0, b1 = buf[pos], buf[pos + 1]
            length, head = b1 & 0x7F, 2
            if length == 126:
                if len(buf) - pos < 4:
                    break
                length, head = struct.unpack_from("!H", buf, pos + 2)[0], 4
            elif length == 127:
                if len(buf) - pos < 10:
                    break
                length, head = struct.unpack_from("!Q", buf, pos + 2)[0], 10
            if len(buf) - pos < head + length:
                break
            payload = buf[pos + head:pos + head + length]
            pos += head + length
            opcode = b0 & 0x0F
            if opcode in (0x1, 0x2):  # binary: broadcasts to vsn 2.0.0 (kind 4)
                if self.joined:
                    self.sink.append((now, payload))
                else:
                    self.first_texts.put_nowait(payload)
            elif opcode == 0x9:
                self.transport.write(client_frame(0xA, payload))
            elif opcode == 0x8:
                self.closed = True
                self.close_code = struct.unpack_from("!H", payload)[0] if len(payload) >= 2 else None
        self.buffer = buf[pos:]

    def connection_lost(self, exc) -> None:
        self.closed = True


async def open_socket(spec: dict, sock: dict, sink: list) -> Subscriber:
    parts = urlsplit(spec["url"])
    path = (parts.path or "/") + f"?apikey={sock['token']}&vsn=2.0.0"
    loop = asyncio.get_running_loop()
    _, proto = await loop.create_connection(lambda: Subscriber(path, parts.netloc, sink), parts.hostname, parts.port)
    await asyncio.wait_for(proto.handshaken, 60)
    if spec.get("bindings") is not None:
        proto.send_text(orjson.dumps(["1", "1", "realtime:bench", "phx_join",
                                      {"config": {"postgres_changes": spec["bindings"]}}]).decode())
        reply = orjson.loads(await asyncio.wait_for(proto.first_texts.get(), 60))
        system = orjson.loads(await asyncio.wait_for(proto.first_texts.get(), 60))
        if reply[4]["status"] != "ok" or system[4]["status"] != "ok":
            raise RuntimeError(f"join failed: {reply} {system}")
    proto.joined = True
    return proto


def figures(spec: dict, sockets: list, sinks: list) -> dict:
    user_teams, agent_teams = spec.get("user_teams", {}), spec.get("agent_teams", {})
    latencies, per_agent, seen = [], {}, set()
    deliveries = unauthorized = duplicates = 0
    for index, sink in enumerate(sinks):
        user_team = user_teams.get(spec["sockets"][index].get("user"))
        for arrived, payload in sink:
            if payload[:1] != b"[":
                continue  # a binary broadcast frame: not a change
            frame = orjson.loads(payload)
            if frame[3] != "postgres_changes":
                continue
            data = frame[4]["data"]
            latencies.append((arrived - epoch(data["commit_timestamp"])) * 1000)
            deliveries += 1
            if data["table"] == "agents":
                record = data["record"]
                key = (index, record["id"], record["updated_at"])
                duplicates += key in seen
                seen.add(key)
                if agent_teams.get(record["id"]) != user_team:
                    unauthorized += 1
                else:
                    per_agent[record["id"]] = per_agent.get(record["id"], 0) + 1
    closed = sum(1 for s in sockets if s.closed)
    codes: dict[str, int] = {}
    for sock in sockets:
        if sock.close_code is not None:
            codes[str(sock.close_code)] = codes.get(str(sock.close_code), 0) + 1
    return {"latencies": latencies, "deliveries": deliveries, "unauthorized": unauthorized,
            "duplicates": duplicates, "per_agent": per_agent, "closed": closed, "close_codes": codes}


async def heartbeats(sockets: list) -> None:
    ref = 0
    while True:
        await asyncio.sleep(20)
        ref += 1
        frame = orjson.dumps([None, str(ref), "phoenix", "heartbeat", {}]).decode()
        for sock in sockets:
            if not sock.closed:
                sock.send_text(frame)


async def open_all(spec: dict, sinks: list) -> list:
    """Open and join one socket per `spec["sockets"]` entry (50 handshakes at a time)."""
    gate = asyncio.Semaphore(50)

    async def opened(i, s):
        async with gate:
            return await open_socket(spec, s, sinks[i])

    return await asyncio.gather(*[opened(i, s) for i, s in enumerate(spec["sockets"])])


async def command_loop(sockets: list, on_line) -> None:
    """Print READY, keep the sockets alive with heartbeats and answer stdin lines with
    `on_line(line)` (a line to print, or None) until QUIT or end of input."""
    beat = asyncio.create_task(heartbeats(sockets))
    print("READY", flush=True)
    loop = asyncio.get_running_loop()
    while True:
        line = (await loop.run_in_executor(None, sys.stdin.readline)).strip()
        if line in ("QUIT", ""):
            beat.cancel()
            for sock in sockets:
                sock.transport.close()
            return
        answer = on_line(line)
        if answer is not None:
            print(answer, flush=True)


async def main(spec: dict) -> None:
    sinks = [[] for _ in spec["sockets"]]
    try:
        sockets = await open_all(spec, sinks)
    except Exception as exc:
        print(orjson.dumps({"error": repr(exc)}).decode(), flush=True)
        return
    if spec.get("stall"):
        for sock in sockets:
            sock.transport.pause_reading()

    def on_line(line: str) -> str | None:
        if line == "RESET":
            for sink in sinks:
                sink.clear()
            return "OK"
        if line == "DUMP":
            return orjson.dumps(figures(spec, sockets, sinks)).decode()
        if line == "RESUME":
            for sock in sockets:
                sock.transport.resume_reading()
            return "OK"
        return None

    await command_loop(sockets, on_line)


def run_with_spec(main) -> None:
    """`asyncio.run(main(spec))` with the spec of the file named on the command line (deleted)."""
    with open(sys.argv[1], "rb") as spec_file:
        loaded = orjson.loads(spec_file.read())
    os.unlink(sys.argv[1])
    asyncio.run(main(loaded))


if __name__ == "__main__":
    run_with_spec(main)
