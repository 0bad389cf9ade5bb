"""A socket whose client stops reading is closed once more than REALTIME_MAX_SEND_BUFFER_BYTES
wait for it (CLOSE_TOO_SLOW, 4008), against a live daphne; the other members keep receiving
every message, and the server's memory does not follow the stalled client's backlog."""

from __future__ import annotations

import asyncio
import json

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests import factories
from tests.realtime.helpers import run, token_for
from tests.servers import server_process

pytestmark = pytest.mark.django_db(transaction=True)
MB = 1024 * 1024


async def joined(host, port, user, **options):
    ws = await connect(f"ws://{host}:{port}/realtime/v1/websocket?apikey={token_for(user)}&vsn=1.0.0",
                       max_size=None, **options)
    await ws.send(json.dumps({"topic": "realtime:room:big", "event": "phx_join", "ref": "1", "join_ref": "1",
                              "payload": {"config": {"broadcast": {"self": False, "ack": True}}}}))
    reply = json.loads(await asyncio.wait_for(ws.recv(), 10))
    assert reply["payload"]["status"] == "ok", reply
    return ws


def test_a_client_that_stops_reading_is_closed_and_the_others_get_everything(daphne_server):
    sender, reader, stalled_user = (factories.UserFactory() for _ in range(3))
    host, port = daphne_server({"REALTIME_MAX_SEND_BUFFER_BYTES": str(MB)})
    process = server_process(port)
    chunk = "x" * 200_000  # 200 kB per broadcast; 100 of them: 20 MB for the stalled client

    async def scenario():
        # max_queue=1: websockets stops reading the TCP socket once one message waits
        stalled = await joined(host, port, stalled_user, max_queue=1)
        good = await joined(host, port, reader)
        pusher = await joined(host, port, sender)
        before = process.memory_info().rss
        got = 0

        async def read_all():
            nonlocal got
            while got < 100:
                frame = json.loads(await asyncio.wait_for(good.recv(), 30))
                got += frame["event"] == "broadcast"

        reading = asyncio.ensure_future(read_all())
        for index in range(100):
            await pusher.send(json.dumps({"topic": "realtime:room:big", "event": "broadcast", "ref": str(index + 2),
                                          "join_ref": "1", "payload": {"type": "broadcast", "event": "chunk",
                                                                       "payload": {"i": index, "data": chunk}}}))
            reply = json.loads(await asyncio.wait_for(pusher.recv(), 30))  # ack: one at a time
            assert reply["payload"]["status"] == "ok", reply
        await asyncio.wait_for(reading, 60)
        assert got == 100  # the reading member got every message
        grown = process.memory_info().rss - before
        closed = None
        try:
            while True:  # what the stalled client had received before the server gave up on it
                await asyncio.wait_for(stalled.recv(), 30)
        except ConnectionClosed as exc:
            closed = exc
        assert closed is not None
        assert closed.rcvd is None or closed.rcvd.code == 4008, closed  # 4008, or dropped after the close timeout
        assert grown < 15 * MB, grown  # not the 20 MB the stalled client was owed
        for ws in (good, pusher):
            await ws.close()

    run(scenario)
