"""Realtime authorization never goes stale (issue 12, point 3), against live daphne servers as
found: every `phx_join` and every `access_token` re-checks signature, expiry and an active user;
a deactivated user's socket closes (4001) and cannot rejoin.

Expiry is made by the server's clock (`tests/realtime/clock.py`), never by waiting."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from accounts.models import User
from realtime.protocol import CLOSE_UNAUTHORIZED
from tests import factories
from tests.realtime.clock import ServerClock
from tests.realtime.helpers import agent_binding, db, run, token_for

pytestmark = pytest.mark.django_db(transaction=True)


class Socket:
    """A raw vsn 2.0.0 socket on a live server."""

    def __init__(self, ws):
        self.ws, self.ref = ws, 0

    @classmethod
    async def open(cls, host, port, token):
        return cls(await connect(f"ws://{host}:{port}/realtime/v1/websocket?apikey={token}&vsn=2.0.0"))

    async def send(self, topic, event, payload):
        self.ref += 1
        await self.ws.send(json.dumps([str(self.ref), str(self.ref), topic, event, payload]))

    async def recv(self, timeout=10):
        return json.loads(await asyncio.wait_for(self.ws.recv(), timeout))

    async def join(self, name, token=None):
        payload = {"config": {"postgres_changes": [agent_binding()]}}
        if token is not None:
            payload["access_token"] = token
        await self.send(f"realtime:{name}", "phx_join", payload)
        return await self.recv()

    async def heartbeat(self):
        await self.send("phoenix", "heartbeat", {})

    async def frames_until(self, *wanted):
        """Every frame until each (topic, event) of `wanted` has arrived, in any order (10 s per frame)."""
        got, missing = [], set(wanted)
        while missing:
            got.append(await self.recv())
            missing.discard(tuple(got[-1][2:4]))
        return got

    async def frames_until_quiet(self, quiet=0.5):
        """For checks that nothing more arrives: whatever comes within `quiet` seconds."""
        got = []
        while True:
            try:
                got.append(await self.recv(quiet))
            except TimeoutError:
                return got


def changes_in(frames):
    return [frame for frame in frames if frame[3] == "postgres_changes"]


def test_live_a_join_repeating_the_sockets_expired_token_is_refused(daphne_server, tmp_path):
    """As found: 301 of 301 joins repeating the socket's token after it expired were accepted."""
    user = factories.UserFactory()
    clock = ServerClock(tmp_path)
    server = daphne_server(clock.env())
    token = token_for(user)  # 15 minutes

    async def scenario():
        socket = await Socket.open(*server, token)
        reply = await socket.join("before", token)
        assert reply[4]["status"] == "ok", reply
        await socket.recv()  # "Subscribed to PostgreSQL"

        clock.advance(3600)  # the token is an hour past its expiry on the server
        await socket.heartbeat()  # a frame wakes the socket: the expired token's channels close
        # (or they closed already, if the server's loop went round after the clock moved)
        frames = await socket.frames_until(("realtime:before", "phx_close"), ("phoenix", "phx_reply"))
        assert [f[3] for f in frames if f[2] == "realtime:before"] == ["system", "phx_close"], frames
        for name, repeated in (("again", token), ("bare", None)):  # with the same token, or none
            reply = await socket.join(name, repeated)
            assert reply[3] == "phx_reply" and reply[4]["status"] == "error", reply
            assert "expired" in reply[4]["response"]["reason"], reply
        await db(factories.AgentFactory, created_by=user)
        assert changes_in(await socket.frames_until_quiet()) == []

        # A fresh token (minted for the server's clock) joins again: the socket itself was fine.
        fresh = token_for(user, lifetime=timedelta(seconds=3600 + 900))
        reply = await socket.join("renewed", fresh)
        assert reply[4]["status"] == "ok", reply
        await socket.ws.close()

    run(scenario)


def test_live_an_access_token_message_with_an_expired_token_closes_the_channel(daphne_server, tmp_path):
    user = factories.UserFactory()
    clock = ServerClock(tmp_path)
    server = daphne_server(clock.env())
    token = token_for(user)

    async def scenario():
        socket = await Socket.open(*server, token)
        assert (await socket.join("c", token))[4]["status"] == "ok"
        await socket.recv()
        clock.advance(3600)
        await socket.send("realtime:c", "access_token", {"access_token": token})
        frames = await socket.frames_until(("realtime:c", "phx_close"))
        # Closed by the access_token check, or by the expiry timer just before it (then the
        # access_token gets "unmatched topic"): either way system error, phx_close, nothing more.
        assert [f[3] for f in frames if f[3] != "phx_reply"] == ["system", "phx_close"], frames
        assert frames[0][4]["status"] == "error" and "expired" in frames[0][4]["message"].lower(), frames
        await socket.ws.close()

    run(scenario)


def deactivate_outside_the_app(user):
    """As a bulk update would (no model signal): captured in PostgreSQL like every write."""
    User.objects.filter(pk=user.pk).update(is_active=False)


def deactivate_through_the_app(user):
    user.is_active = False
    user.save(update_fields=["is_active"])


@pytest.mark.parametrize("deactivate", [deactivate_through_the_app, deactivate_outside_the_app])
def test_live_a_deactivated_users_socket_closes_and_cannot_come_back(daphne_server, live_url, deactivate):
    """As found: the channels closed, the socket stayed open, and a rejoin with the still
    unexpired token received changes while REST already answered 401."""
    user = factories.UserFactory()
    server = daphne_server()
    token = token_for(user)

    async def scenario():
        socket = await Socket.open(*server, token)
        assert (await socket.join("mine", token))[4]["status"] == "ok"
        await socket.recv()
        await db(deactivate, user)  # the captured change closes the socket, whoever wrote it
        frames = []
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                frames.append(await socket.recv())
        assert closed.value.rcvd is not None and closed.value.rcvd.code == CLOSE_UNAUTHORIZED, closed.value
        mine = [f[3] for f in frames if f[2] == "realtime:mine"]
        assert mine == ["system", "phx_close"], frames
        assert "no longer active" in frames[0][4]["message"], frames
        with pytest.raises(InvalidStatus) as refused:  # the unexpired token opens no new socket
            await Socket.open(*server, token)
        assert refused.value.response.status_code == 403

    run(scenario)
    with httpx.Client(base_url=live_url(server), timeout=30) as http:
        assert http.get("/api/v1/users/me/", headers={"Authorization": f"Bearer {token}"}).status_code == 401


@pytest.fixture
def live_url():
    return lambda server: f"http://{server[0]}:{server[1]}"
