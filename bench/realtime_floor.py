"""Bench helper process: the floor, a bare `websockets` server that broadcasts each change.

It holds one Redis subscription to the realtime bus and sends every change, framed exactly as
Echelon frames it, to all its clients with `websockets.broadcast()`: no auth, no filters.
`python -m bench.realtime_floor PORT REDIS_URL CHANNEL`; prints READY.

`... CHANNEL echo`: the broadcast floor (issue 15): every message a client sends is published
on CHANNEL and each one read back is sent to all clients as a binary frame: the same Redis hop
as Echelon's broadcasts, with none of the protocol, authorization or fan-out code.
"""

from __future__ import annotations

import asyncio
import sys

import orjson
import redis.asyncio as aioredis
from websockets.asyncio.server import broadcast, serve
from websockets.exceptions import ConnectionClosed


async def main(port: int, url: str, channel: str, echo: bool = False) -> None:
    clients: set = set()
    client = aioredis.Redis.from_url(url)

    async def handler(ws):
        clients.add(ws)
        try:
            if echo:
                async for message in ws:
                    await client.publish(channel, message)
            await ws.wait_closed()
        except ConnectionClosed:
            pass  # a bench client closes its sockets without a close handshake
        finally:
            clients.discard(ws)

    async with serve(handler, "127.0.0.1", port, compression=None, ping_interval=None, max_queue=None):
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        await pubsub.subscribe(channel)
        print("READY", flush=True)
        while True:
            message = await pubsub.get_message(timeout=None)
            if message is None or message.get("type") != "message":
                continue
            if echo:
                broadcast(clients, message["data"])  # bytes: a binary frame
                continue
            body = orjson.loads(message["data"])
            for change in body.get("changes", (body,)):  # the relay sends its batches in chunks
                variants = change["variants"]
                if not variants:
                    continue
                # the bench's tables have one reader kind, hence one variant (docs/security.md)
                data = orjson.dumps(variants[0]["data"])
                frame = b'[null,null,"realtime:bench","postgres_changes",{"ids":[1],"data":' + data + b"}]"
                broadcast(clients, frame.decode())


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), sys.argv[2], sys.argv[3], echo=sys.argv[4:] == ["echo"]))
