"""Fan-out frames written straight to daphne's sockets (realtime/direct_write.py)."""

from __future__ import annotations

import asyncio
import functools
import json
import socket

import pytest
from websockets.asyncio.client import connect

from agents.services import agent_set_status
from realtime.direct_write import OutgoingFrame, writer_for
from tests import factories
from tests.realtime.helpers import agent_binding, db, run, token_for


@pytest.mark.parametrize("length, header", [
    (5, b"\x81\x05"),
    (300, b"\x81\x7e\x01\x2c"),
    (70_000, b"\x81\x7f\x00\x00\x00\x00\x00\x01\x11\x70"),
])
def test_outgoing_frame_is_one_unmasked_final_text_frame(length, header):
    text = "é" * (length // 2) + "x" * (length % 2)  # UTF-8: 2 bytes per é
    frame = OutgoingFrame(text)
    assert frame.wire == header + text.encode()
    assert frame.wire is frame.wire  # framed once, shared by every socket


def test_a_binary_outgoing_frame_is_one_unmasked_final_binary_frame_with_its_asgi_fallback():
    data = bytes((4, 1, 1, 0, 1)) + b"ae" + b'{"x":1}'  # a kind-4 broadcast
    frame = OutgoingFrame(data)
    assert frame.wire == bytes((0x82, len(data))) + data
    assert frame.asgi() == {"type": "websocket.send", "bytes": data} and frame.text is None
    assert OutgoingFrame("hi").asgi() == {"type": "websocket.send", "text": "hi"}


def test_sends_that_are_not_daphnes_get_no_direct_writer():
    async def asgi_send(message):
        return None

    class Server:
        async def handle_reply(self, protocol, message):
            return None

    assert writer_for(asgi_send) is None
    assert writer_for(functools.partial(Server().handle_reply, object())) is None


@pytest.mark.django_db(transaction=True)
def test_daphne_writes_changes_directly_in_order_when_the_socket_buffer_is_full(daphne_server):
    """~1 MB changes to a client that is not reading: the socket buffer fills, the rest of each
    frame queues in Twisted, and later frames (direct and ASGI ones) come out whole, in order."""
    owner = factories.UserFactory()
    agent = factories.AgentFactory(created_by=owner, config={"blob": "x" * 1_000_000})
    host, port = daphne_server()
    statuses = ["active", "paused"] * 4  # 8 MB: more than the 4 MB send buffer Linux allows here

    async def scenario():
        url = f"ws://{host}:{port}/realtime/v1/websocket?apikey={token_for(owner)}&vsn=2.0.0"
        # a small receive buffer (set before connecting) keeps the kernel from soaking it all up
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, (host, port))
        async with connect(url, sock=sock, max_size=None, max_queue=1) as ws:
            await ws.send(json.dumps(["1", "1", "realtime:big", "phx_join",
                                      {"config": {"postgres_changes": [agent_binding(owner.pk)]}}]))
            assert json.loads(await ws.recv())[4]["status"] == "ok"
            assert json.loads(await ws.recv())[4]["message"] == "Subscribed to PostgreSQL"
            for status in statuses:
                await db(agent_set_status, agent=agent, status=status, actor=owner)
            await asyncio.sleep(1)  # the server has written what the socket takes, queued the rest
            await ws.send(json.dumps([None, "99", "phoenix", "heartbeat", {}]))
            got = []
            for _ in statuses:
                frame = json.loads(await asyncio.wait_for(ws.recv(), 20))
                assert frame[3] == "postgres_changes", frame[:4]
                record = frame[4]["data"]["record"]
                assert len(record["config"]["blob"]) == 1_000_000
                got.append(record["status"])
            assert got == statuses
            reply = json.loads(await asyncio.wait_for(ws.recv(), 20))
            assert reply[1] == "99" and reply[3] == "phx_reply", reply[:4]

    run(scenario)
    assert "written directly to daphne's TCP sockets" in daphne_server.output(port)
