"""A small test client for the realtime endpoint over Channels' WebsocketCommunicator.

Tests are sync functions that run one coroutine with `run()` (asgiref's async_to_sync), so
ORM writes wrapped in `sync_to_async` happen on the test's own thread and connection.
"""

from __future__ import annotations

import asyncio
import collections
import json

import orjson
from django.db import connection
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator
from rest_framework_simplejwt.tokens import AccessToken

from echelon.asgi import application
from realtime import bus, relay
from realtime.dispatcher import dispatchers

PATH = "/realtime/v1/websocket"
VSNS = ["1.0.0", "2.0.0"]


def run(coroutine_function, *args):
    return async_to_sync(coroutine_function)(*args)


def db(function, *args, **kwargs):
    """Await an ORM call on the test thread, then hand its committed changes on (this process'
    relay runs when a test asks, as the server's does right after each commit) → the in-process
    bus, in order."""
    def call_and_hand_on():
        result = function(*args, **kwargs)
        if not connection.in_atomic_block:
            relay.drain()
        return result

    return sync_to_async(call_and_hand_on)()


# A change of no table for nobody: the dispatcher handles it like any message, after every
# message queued before it, and delivers it to no socket.
_MARKER = orjson.dumps({"table": "", "type": "INSERT", "variants": []})


async def settled() -> None:
    """Until the dispatcher of this event loop has handled every change committed so far.

    The relay runs here, on the test's thread (this process starts none: tests/conftest.py):
    it hands on every committed change, and the in-process bus queues them in order, so a
    marker queued now is handled after all of them. So a test reads what was pushed instead of
    waiting for a quiet spell (which a loaded machine can outlast). First every socket that sent
    something since is answered a heartbeat: a consumer handles its frames in order, so by then
    its pushes' acks are out and their broadcasts and presence operations are queued."""
    loop = asyncio.get_running_loop()
    _unanswered.difference_update([c for c in _unanswered if c.loop is not loop and c.loop.is_closed()])
    for client in [c for c in _unanswered if c.loop is loop]:
        await client.answered()
    await sync_to_async(relay.drain)()
    for dispatcher in dispatchers():  # presence operations and sockets' broadcasts reach the bus first
        if dispatcher.loop is loop:
            await dispatcher.presence.queue.join()
    await bus.published()
    for dispatcher in dispatchers():
        if dispatcher.loop is loop and dispatcher.subscribed:
            # REDIS_URL set: changes come back through the Redis subscription, after the marker
            # could; no order to rely on, so a quiet spell (the in-process bus is the tests' own).
            await asyncio.sleep(0.5)
        elif dispatcher.loop is loop:
            dispatcher.queue.put_nowait(_MARKER)
            while not dispatcher.queue.empty():
                await asyncio.sleep(0.005)
            await asyncio.sleep(0)  # the marker's handling returns without awaiting


def token_for(user, lifetime=None) -> str:
    token = AccessToken.for_user(user)
    if lifetime is not None:
        token.set_exp(lifetime=lifetime)
    return str(token)


def agent_binding(user_id=None, event="*"):
    entry = {"event": event, "schema": "public", "table": "agents"}
    if user_id is not None:
        entry["filter"] = f"created_by=eq.{user_id}"
    return entry


# Sockets that sent frames their consumer may not have handled yet (`settled()` asks them).
_unanswered: set = set()
_BARRIER_REF = "settled"


class Client:
    """One socket; frames are returned as (join_ref, ref, topic, event, payload) for both vsn.
    Frames read while waiting for a heartbeat's answer are kept, in order, for the next reads."""

    def __init__(self, token: str | None, vsn: str | None = "2.0.0", headers=None, query: str | None = None):
        self.vsn = vsn or "1.0.0"
        params = [] if token is None else [f"apikey={token}"]
        if vsn:
            params.append(f"vsn={vsn}")
        if query:
            params.append(query)
        self.comm = WebsocketCommunicator(application, PATH + "?" + "&".join(params), headers=headers)
        self._ref = 0
        self._inbox: collections.deque = collections.deque()
        self.loop = None

    async def connect(self):
        # What was committed before the socket connects was handed on before it (as the server's
        # relay, which runs all along, would have): this process' relay runs when a test asks.
        await sync_to_async(relay.drain)()
        self.loop = asyncio.get_running_loop()
        # Channels' default of 1 s for the handshake (the token's user query, the dispatcher)
        # was outlasted once at load average 14; a server that never answers still fails
        return await self.comm.connect(timeout=30)

    def next_ref(self) -> str:
        self._ref += 1
        return str(self._ref)

    async def send(self, join_ref, ref, topic, event, payload):
        if self.vsn == "2.0.0":
            text = json.dumps([join_ref, ref, topic, event, payload])
        else:
            text = json.dumps({"topic": topic, "event": event, "payload": payload, "ref": ref, "join_ref": join_ref})
        await self.send_raw({"type": "websocket.receive", "text": text})

    async def send_raw(self, message: dict) -> None:
        _unanswered.add(self)
        await self.comm.send_input(message)

    async def answered(self) -> None:
        """Until this socket's consumer answered a heartbeat sent now (or closed the socket)."""
        _unanswered.discard(self)
        heartbeat = [None, _BARRIER_REF, "phoenix", "heartbeat", {}]
        text = json.dumps(heartbeat) if self.vsn == "2.0.0" else json.dumps(
            {"topic": "phoenix", "event": "heartbeat", "payload": {}, "ref": _BARRIER_REF})
        await self.comm.send_input({"type": "websocket.receive", "text": text})
        while True:
            message = await self.comm.receive_output(30)
            if message.get("text") and f'"{_BARRIER_REF}"' in message["text"]:
                frame = self._parse(message["text"])
                if frame[1] == _BARRIER_REF and frame[3] == "phx_reply":
                    return
            self._inbox.append(message)
            if message["type"] == "websocket.close":
                return

    async def _output(self, timeout) -> dict:
        return self._inbox.popleft() if self._inbox else await self.comm.receive_output(timeout)

    async def _quiet(self) -> bool:
        return not self._inbox and await self.comm.receive_nothing(0.01)

    async def recv(self, timeout=10):
        message = await self._output(timeout)
        assert message["type"] == "websocket.send", message
        text = message.get("text")
        assert isinstance(text, str), "the server must send text frames only"
        data = json.loads(text)
        if self.vsn == "2.0.0":
            assert isinstance(data, list) and len(data) == 5, data
            return tuple(data)
        assert isinstance(data, dict) and set(data) == {"topic", "event", "payload", "ref"}, data
        return (None, data["ref"], data["topic"], data["event"], data["payload"])

    async def broadcast_frames(self) -> list:
        """Every frame pushed so far (after `settled()`), binary ones decoded (kind 4) as
        ("binary", topic, event, meta, payload) with JSON payloads parsed; text ones as `recv`."""
        await settled()
        frames = []
        while not await self._quiet():
            message = await self._output(1)
            if message.get("bytes") is None:
                frames.append(self._parse(message["text"]))
                continue
            data = message["bytes"]
            assert data[0] == 4, data
            sizes, offset = data[1:4], 5
            fields = []
            for size in sizes:
                fields.append(data[offset:offset + size].decode())
                offset += size
            body = data[offset:]
            topic, event, meta = fields
            frames.append(("binary", topic, event, json.loads(meta) if meta else None,
                           json.loads(body) if data[4] == 1 else bytes(body)))
        return frames

    def _parse(self, text: str):
        data = json.loads(text)
        if self.vsn == "2.0.0":
            return tuple(data)
        return (None, data["ref"], data["topic"], data["event"], data["payload"])

    async def nothing(self, timeout=0.3) -> bool:
        return not self._inbox and await self.comm.receive_nothing(timeout)

    async def pushed(self) -> list:
        """Every frame pushed to this socket so far (after `settled()`): no waiting for silence."""
        await settled()
        frames = []
        while not await self._quiet():
            frames.append(await self.recv())
        return frames

    async def join(self, name: str, bindings: list, access_token: str | None = None, since: int | None = None,
                   **config):
        """Join `realtime:<name>` (`config` entries such as private=True, broadcast={...} replace
        the defaults); return (reply frame, next frame or None when no bindings or refused)."""
        ref = self.next_ref()
        self.join_ref = ref
        payload = {"config": {"broadcast": {"ack": False, "self": False}, "presence": {"key": "", "enabled": False},
                              "postgres_changes": bindings, "private": False, **config}}
        if access_token:
            payload["access_token"] = access_token
        if since is not None:
            payload["config"]["since"] = since  # resume (docs/realtime.md)
        await self.send(ref, ref, f"realtime:{name}", "phx_join", payload)
        reply = await self.recv()
        system = await self.recv() if bindings and reply[4]["status"] == "ok" else None
        return reply, system

    async def change(self, timeout=10):
        await sync_to_async(relay.drain)()  # this process' relay runs when a test asks
        frame = await self.recv(timeout)
        assert frame[3] == "postgres_changes", frame
        return frame

    async def close(self):
        _unanswered.discard(self)
        await self.comm.disconnect(timeout=30)  # Channels' default of 1 s for the consumer to end, as connect
