"""Broadcast and presence across server processes (issue 15): through the one Redis channel
and the presence hashes; a process killed without a goodbye has its presences left within the
bound (REALTIME_PRESENCE_TTL_SECONDS, here 3 s: within about 1.3 × of it, asserted at 15 s)."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from websockets.asyncio.client import connect

from tests.realtime.helpers import run, token_for
from tests.servers import server_process

pytestmark = pytest.mark.django_db(transaction=True)
FAST_PRESENCE = {"REALTIME_PRESENCE_TTL_SECONDS": "3"}


class Member:
    """A raw vsn 2.0.0 socket joined to one channel with presence."""

    def __init__(self, ws, topic):
        self.ws, self.topic, self.ref = ws, topic, 1

    @classmethod
    async def join(cls, server, user, name, key, private=True):
        host, port = server
        ws = await connect(f"ws://{host}:{port}/realtime/v1/websocket?apikey={token_for(user)}&vsn=2.0.0")
        topic = f"realtime:{name}"
        await ws.send(json.dumps(["1", "1", topic, "phx_join", {"config": {
            "broadcast": {"self": False, "ack": False}, "presence": {"key": key, "enabled": True},
            "postgres_changes": [], "private": private}}]))
        reply = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert reply[4]["status"] == "ok", reply
        return cls(ws, topic)

    async def push(self, event, payload):
        self.ref += 1
        await self.ws.send(json.dumps(["1", str(self.ref), self.topic, event, payload]))

    async def frames(self, quiet=1.0, until=None, timeout=15) -> list:
        """Frames until `until(frame)` (or `quiet` seconds of silence), decoded: binary kind 4 as
        ("binary", event, payload)."""
        got, deadline = [], time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                raw = await asyncio.wait_for(self.ws.recv(), quiet if until is None else deadline - time.monotonic())
            except TimeoutError:
                break
            if isinstance(raw, bytes):
                sizes = raw[1:4]
                event = raw[5 + sizes[0]:5 + sizes[0] + sizes[1]].decode()
                frame = ("binary", event, json.loads(raw[5 + sum(sizes):]))
            else:
                frame = json.loads(raw)
            got.append(frame)
            if until is not None and until(frame):
                break
        return got


def diffs(frames) -> list:
    return [(sorted(f[4]["joins"]), sorted(f[4]["leaves"])) for f in frames
            if isinstance(f, list) and f[3] == "presence_diff"]


def test_broadcast_and_presence_across_processes_and_a_dead_process_leaves(daphne_server, team_agent):
    owner, viewer, outsider = team_agent["owner"], team_agent["viewer"], team_agent["outsider"]
    name = f"agent:{team_agent['agent'].pk}"
    server_a, server_b = daphne_server(FAST_PRESENCE), daphne_server(FAST_PRESENCE)

    async def scenario():
        on_a = await Member.join(server_a, owner, name, "owner")
        await on_a.push("presence", {"type": "presence", "event": "track", "payload": {"at": "a"}})
        await on_a.frames()
        on_b = await Member.join(server_b, viewer, name, "viewer")
        public_b = await Member.join(server_b, outsider, name, "outsider", private=False)
        state = [f for f in await on_b.frames() if isinstance(f, list) and f[3] == "presence_state"]
        assert [sorted(f[4]) for f in state] == [["owner"]]
        await on_a.push("broadcast", {"type": "broadcast", "event": "selected", "payload": {"node": 3}})
        got = await on_b.frames()
        assert ("binary", "selected", {"node": 3}) in got
        assert [f for f in await public_b.frames() if f[0] == "binary" or f[3] == "presence_diff"] == []

        await on_b.push("presence", {"type": "presence", "event": "track", "payload": {"at": "b"}})
        assert diffs(await on_a.frames(until=lambda f: isinstance(f, list) and f[3] == "presence_diff")) == \
            [(["viewer"], [])]
        server_process(server_b[1]).kill()  # no goodbye: its presences are left by the sweep
        started = time.monotonic()
        got = await on_a.frames(until=lambda f: isinstance(f, list) and f[3] == "presence_diff", timeout=15)
        assert diffs(got) == [([], ["viewer"])], got
        assert time.monotonic() - started < 15
        await on_a.ws.close()

    run(scenario)
