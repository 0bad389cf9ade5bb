"""Bench helper process: sockets that broadcast and track presence on one channel (issue 15).

`python -m bench.realtime_channel_clients SPEC_FILE`; SPEC: {"url", "topic", "sockets":
[{"token", "key"}], "mode": "broadcast" | "presence" | "floor"}. The sockets are the minimal
clients of bench/realtime_subscribers.py (frames split and time-stamped, parsed only at DUMP).
Prints READY once every socket is open (and, for "broadcast", joined), then obeys stdin lines:

- `SEND n interval`: the first socket sends `n` broadcasts `interval` s apart, each carrying
  its send time; answers OK a second after the last. "floor" mode sends the same payload as a
  plain text message (the floor server echoes it to every client).
- `JOIN seconds`: every socket joins with presence enabled (its own key) and tracks, the joins
  spread evenly over `seconds`; answers OK 10 s after the last track.
- `DUMP`: the figures as one JSON line: broadcast latencies (ms, receive - send, every socket
  but the sender) or, for presence, when each socket first held the full state (every key)
  relative to the last track sent.
"""

from __future__ import annotations

import asyncio
import time
from urllib.parse import urlsplit

import orjson

from bench.realtime_subscribers import Subscriber, command_loop, run_with_spec

PAD = "x" * 300  # about the size of a small change's frame


async def open_socket(url: str, token: str, sink: list) -> Subscriber:
    parts = urlsplit(url)
    path = (parts.path or "/") + f"?apikey={token}&vsn=2.0.0"
    loop = asyncio.get_running_loop()
    _, proto = await loop.create_connection(lambda: Subscriber(path, parts.netloc, sink), parts.hostname, parts.port)
    await asyncio.wait_for(proto.handshaken, 60)
    return proto


def join_frame(topic: str, key: str = "", presence: bool = False) -> str:
    config = {"broadcast": {"self": False, "ack": False}, "presence": {"enabled": presence, "key": key},
              "postgres_changes": [], "private": False}
    return orjson.dumps(["1", "1", topic, "phx_join", {"config": config}]).decode()


async def join_for_broadcast(sock: Subscriber, topic: str) -> None:
    sock.send_text(join_frame(topic))
    reply = orjson.loads(await asyncio.wait_for(sock.first_texts.get(), 60))
    if reply[4]["status"] != "ok":
        raise RuntimeError(f"join failed: {reply}")
    sock.joined = True


def sent_at(payload: bytes) -> float | None:
    """The send time carried by a broadcast: a binary kind-4 frame (Echelon, vsn 2.0.0) or the
    floor's echo of the plain JSON payload."""
    if payload[:1] == b"\x04":
        sizes = payload[1:4]
        body = payload[5 + sum(sizes):]
    elif payload[:1] == b"{":
        body = payload
    else:
        return None
    return orjson.loads(body).get("t")


def broadcast_figures(sinks: list) -> dict:
    latencies = []
    for sink in sinks[1:]:
        for arrived, payload in sink:
            sent = sent_at(payload)
            if sent is not None:
                latencies.append((arrived - sent) * 1000)
    return {"latencies": latencies, "deliveries": len(latencies)}


def presence_figures(spec: dict, sinks: list, last_track: float) -> dict:
    """Replay each socket's presence frames in order: the first moment it held every key."""
    everyone = {s["key"] for s in spec["sockets"]}
    settled, errors = [], 0
    for sink in sinks:
        keys: set = set()
        full_at = None
        for arrived, payload in sink:
            if payload[:1] != b"[":
                continue
            frame = orjson.loads(payload)
            event, body = frame[3], frame[4]
            if event == "presence_state":
                keys |= set(body)
            elif event == "presence_diff":
                keys |= set(body.get("joins", {}))
                keys -= set(body.get("leaves", {})) - set(body.get("joins", {}))
            elif event == "phx_reply" and body.get("status") != "ok":
                errors += 1
            if full_at is None and keys >= everyone:
                full_at = arrived
        if full_at is not None:
            settled.append((full_at - last_track) * 1000)
    return {"settled_ms": settled, "members": len(sinks), "errors": errors}


async def main(spec: dict) -> None:
    mode, topic = spec["mode"], spec.get("topic", "realtime:bench-room")
    sinks = [[] for _ in spec["sockets"]]
    gate = asyncio.Semaphore(50)
    last_track = [0.0]

    async def opened(index: int, entry: dict) -> Subscriber:
        async with gate:
            sock = await open_socket(spec["url"], entry["token"], sinks[index])
            if mode == "broadcast":
                await join_for_broadcast(sock, topic)
            else:
                sock.joined = True  # floor: no join; presence: every frame from the join on is kept
            return sock

    try:
        sockets = await asyncio.gather(*[opened(i, s) for i, s in enumerate(spec["sockets"])])
    except Exception as exc:
        print(orjson.dumps({"error": repr(exc)}).decode(), flush=True)
        return
    loop = asyncio.get_running_loop()

    async def send(count: int, interval: float) -> None:
        for k in range(count):
            body = {"t": time.time(), "k": k, "pad": PAD}
            if mode == "floor":
                sockets[0].send_text(orjson.dumps(body).decode())
            else:
                sockets[0].send_text(orjson.dumps(["1", str(k + 2), topic, "broadcast",
                                                   {"type": "broadcast", "event": "tick", "payload": body}]).decode())
            await asyncio.sleep(interval)
        await asyncio.sleep(1)
        print("OK", flush=True)

    async def join_all(seconds: float) -> None:
        start = loop.time()
        for index, (sock, entry) in enumerate(zip(sockets, spec["sockets"])):
            delay = start + index * seconds / len(sockets) - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            sock.send_text(join_frame(topic, entry["key"], presence=True))
            sock.send_text(orjson.dumps(["1", "2", topic, "presence", {"type": "presence", "event": "track",
                                                                       "payload": {"online_at": time.time()}}]).decode())
            last_track[0] = time.time()
        await asyncio.sleep(10)
        print("OK", flush=True)

    def on_line(line: str) -> str | None:
        words = line.split()
        if words[0] == "SEND":
            loop.create_task(send(int(words[1]), float(words[2])))
        elif words[0] == "JOIN":
            loop.create_task(join_all(float(words[1])))
        elif words[0] == "DUMP":
            figures = presence_figures(spec, sinks, last_track[0]) if mode == "presence" else broadcast_figures(sinks)
            return orjson.dumps(figures).decode()
        elif words[0] == "RESET":
            for sink in sinks:
                sink.clear()
            return "OK"
        return None

    await command_loop(sockets, on_line)


if __name__ == "__main__":
    run_with_spec(main)
