"""A small test client for the realtime endpoint over Channels' WebsocketCommunicator.

Tests are sync functions that run one coroutine with `run()` (asgiref's async_to_sync), so
ORM writes wrapped in `sync_to_async` happen on the test's own thread and connection.
"""

from __future__ import annotations

import json

from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator
from rest_framework_simplejwt.tokens import AccessToken

from echelon.asgi import application

PATH = "/realtime/v1/websocket"
VSNS = ["1.0.0", "2.0.0"]


def run(coroutine_function, *args):
    return async_to_sync(coroutine_function)(*args)


def db(function, *args, **kwargs):
    """Await an ORM call on the test thread (commits fire on_commit → the in-process bus)."""
    return sync_to_async(function)(*args, **kwargs)


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


class Client:
    """One socket; frames are returned as (join_ref, ref, topic, event, payload) for both vsn."""

    def __init__(self, token: str | None, vsn: str | None = "2.0.0", headers=None, query: str | None = None):
        self.vsn = vsn or "1.0.0"
        params = [] if token is None else [f"apikey={token}"]
        if vsn:
            params.append(f"vsn={vsn}")
        if query:
            params.append(query)
        self.comm = WebsocketCommunicator(application, PATH + "?" + "&".join(params), headers=headers)
        self._ref = 0

    async def connect(self):
        return await self.comm.connect()

    def next_ref(self) -> str:
        self._ref += 1
        return str(self._ref)

    async def send(self, join_ref, ref, topic, event, payload):
        if self.vsn == "2.0.0":
            text = json.dumps([join_ref, ref, topic, event, payload])
        else:
            text = json.dumps({"topic": topic, "event": event, "payload": payload, "ref": ref, "join_ref": join_ref})
        await self.comm.send_to(text_data=text)

    async def recv(self, timeout=3):
        text = await self.comm.receive_from(timeout)
        assert isinstance(text, str), "the server must send text frames only"
        data = json.loads(text)
        if self.vsn == "2.0.0":
            assert isinstance(data, list) and len(data) == 5, data
            return tuple(data)
        assert isinstance(data, dict) and set(data) == {"topic", "event", "payload", "ref"}, data
        return (None, data["ref"], data["topic"], data["event"], data["payload"])

    async def nothing(self, timeout=0.3) -> bool:
        return await self.comm.receive_nothing(timeout)

    async def join(self, name: str, bindings: list, access_token: str | None = None):
        """Join `realtime:<name>`; return (reply frame, next frame or None when no bindings)."""
        ref = self.next_ref()
        self.join_ref = ref
        payload = {"config": {"broadcast": {"ack": False, "self": False}, "presence": {"key": "", "enabled": False},
                              "postgres_changes": bindings, "private": False}}
        if access_token:
            payload["access_token"] = access_token
        await self.send(ref, ref, f"realtime:{name}", "phx_join", payload)
        reply = await self.recv()
        system = await self.recv() if bindings else None
        return reply, system

    async def change(self, timeout=3):
        frame = await self.recv(timeout)
        assert frame[3] == "postgres_changes", frame
        return frame

    async def close(self):
        await self.comm.disconnect()
