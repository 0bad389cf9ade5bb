"""Bench helper process: the floor, a bare `websockets` server that broadcasts each change.

It holds one Redis subscription to the realtime bus and sends every change, framed exactly as
Echelon frames it, to all its clients with `websockets.broadcast()`: no auth, no filters.
`python -m bench.realtime_floor PORT REDIS_URL CHANNEL`; prints READY.
"""

from __future__ import annotations

import asyncio
import sys

import orjson
import redis.asyncio as aioredis
from websockets.asyncio.server import broadcast, serve


async def main(port: int, url: str, channel: str) -> None:
    clients: set = set()

    async def handler(ws):
        clients.add(ws)
        try:
            await ws.wait_closed()
        finally:
            clients.discard(ws)

    async with serve(handler, "127.0.0.1", port, compression=None, ping_interval=None, max_queue=None):
        client = aioredis.Redis.from_url(url)
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        await pubsub.subscribe(channel)
        print("READY", flush=True)
        while True:
            message = await pubsub.get_message(timeout=None)
            if message is None or message.get("type") != "message":
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
    asyncio.run(main(int(sys.argv[1]), sys.argv[2], sys.argv[3]))
