"""Realtime under faults, with live daphne processes sharing a redis-server the test controls.

- Redis stopped: REST writes keep answering and every change, through either process, still
  reaches the socket, in commit order, once (the processes read what the bus did not bring from
  the change log: late, not lost); when Redis is back, each process re-subscribes and changes
  cross processes through it again.
- Two servers, one killed (SIGKILL): its client reconnects to the other, catches up with the
  REST "changed since" filter (`updated_after`) and ends with exactly the state of a client
  that never disconnected.
"""

from __future__ import annotations

import asyncio
import json
import signal
import time
from datetime import datetime

import httpx
import pytest
from websockets.asyncio.client import connect

from tests import factories
from tests.monitoring.servers import DaphneServer, bearer
from tests.realtime.helpers import run, token_for

pytestmark = pytest.mark.django_db(transaction=True)

FIELDS = ("id", "name", "description", "status")


class Socket:
    """A websocket client speaking the protocol (vsn 2.0.0), joined to the `agents` changes."""

    def __init__(self, server: DaphneServer, user):
        self.url = server.url.replace("http://", "ws://") + f"/realtime/v1/websocket?apikey={token_for(user)}&vsn=2.0.0"

    async def open(self) -> Socket:
        self.ws = await connect(self.url)
        await self.ws.send(json.dumps(["1", "1", "realtime:agent-changes", "phx_join",
                                       {"config": {"postgres_changes": [
                                           {"event": "*", "schema": "public", "table": "agents"}]}}]))
        reply = json.loads(await asyncio.wait_for(self.ws.recv(), 10))
        system = json.loads(await asyncio.wait_for(self.ws.recv(), 10))
        assert reply[4]["status"] == "ok" and system[4]["status"] == "ok", (reply, system)
        return self

    async def records(self, quiet: float = 1.0) -> list[dict]:
        """The agent records pushed until `quiet` seconds pass without a frame."""
        got = []
        while True:
            try:
                frame = json.loads(await asyncio.wait_for(self.ws.recv(), quiet))
            except TimeoutError:
                return got
            if frame[3] == "postgres_changes":
                got.append(frame[4]["data"]["record"])

    async def until(self, count: int, seconds: float = 60) -> list[dict]:
        """The next `count` agent records pushed (waiting for them, not for a quiet spell)."""
        got = []
        deadline = time.monotonic() + seconds
        while len(got) < count:
            left = deadline - time.monotonic()
            assert left > 0, f"{len(got)} of {count} changes within {seconds} s: {got}"
            frame = json.loads(await asyncio.wait_for(self.ws.recv(), left))
            if frame[3] == "postgres_changes":
                got.append(frame[4]["data"]["record"])
        return got

    async def close(self) -> None:
        await self.ws.close()


def stamp(value: str) -> datetime:
    return datetime.fromisoformat(value)


def merge(state: dict, records: list[dict]) -> None:
    """Newest version of each agent wins (pushes and REST pages may overlap)."""
    for record in records:
        current = state.get(record["id"])
        if current is None or stamp(record["updated_at"]) >= stamp(current["updated_at"]):
            state[record["id"]] = record


def view(state: dict) -> dict:
    return {key: (tuple(record[f] for f in FIELDS), stamp(record["updated_at"])) for key, record in state.items()}


def patch(http: httpx.Client, agent_id: str, description: str) -> dict:
    response = http.patch(f"/api/v1/agents/{agent_id}/", json={"description": description})
    assert response.status_code == 200, response.text
    return response.json()


def test_redis_outage_delays_changes_and_loses_none(redis_process):
    owner = factories.UserFactory(subscription_tier="enterprise")
    agent = factories.AgentFactory(created_by=owner)
    env = {"REDIS_URL": redis_process.url, "LOG_LEVEL": "WARNING"}
    writer, holder = DaphneServer(**env), DaphneServer(**env)  # the socket lives on `holder`
    try:
        with httpx.Client(base_url=writer.url, headers=bearer(owner), timeout=30) as via_writer, \
                httpx.Client(base_url=holder.url, headers=bearer(owner), timeout=30) as via_holder:

            async def scenario():
                socket = await Socket(holder, owner).open()
                # Redis up: a write on the other process reaches the socket.
                patch(via_writer, str(agent.pk), "cross-process 1")
                assert [r["description"] for r in await socket.until(1)] == ["cross-process 1"]

                redis_process.stop()
                # Redis down: REST still answers, and no change is lost, whichever process wrote it.
                written = []
                for i in range(3):
                    for name, http in (("holder", via_holder), ("writer", via_writer)):
                        patch(http, str(agent.pk), f"{name} {i}")
                        written.append(f"{name} {i}")
                assert [r["description"] for r in await socket.until(len(written))] == written

                redis_process.start()
                # Both processes re-subscribe (backoff ≤ 5 s); then changes cross through Redis again.
                deadline = time.monotonic() + 60
                while "realtime: Redis subscription restored" not in holder.output():
                    assert time.monotonic() < deadline, "the holder did not re-subscribe to Redis"
                    await asyncio.sleep(0.2)
                patch(via_writer, str(agent.pk), "steady")
                patch(via_holder, str(agent.pk), "steady local")
                assert [r["description"] for r in await socket.until(2)] == ["steady", "steady local"]
                assert await socket.records(quiet=1.0) == []  # and nothing twice
                await socket.close()

            run(scenario)
        for server in (writer, holder):
            assert server.stop() == 0, server.output()
    finally:
        writer.kill()
        holder.kill()
    output = writer.output() + holder.output()
    assert "realtime: Redis unavailable" in output, output
    assert "realtime: Redis subscription restored" in output, output
    assert "Internal Server Error" not in output, output


def test_clients_of_a_killed_server_catch_up_on_the_other(redis_process):
    owner = factories.UserFactory(subscription_tier="enterprise")
    agents = [str(factories.AgentFactory(created_by=owner, name=f"agent {i}").pk) for i in range(5)]
    env = {"REDIS_URL": redis_process.url, "LOG_LEVEL": "WARNING"}
    doomed, survivor = DaphneServer(**env), DaphneServer(**env)
    try:
        with httpx.Client(base_url=survivor.url, headers=bearer(owner), timeout=30) as http:
            with httpx.Client(base_url=doomed.url, headers=bearer(owner), timeout=30) as via_doomed:

                async def scenario():
                    def snapshot(params=None) -> list[dict]:
                        response = http.get("/api/v1/agents/", params={"page_size": 200, **(params or {})})
                        assert response.status_code == 200, response.text
                        return response.json()["results"]

                    # Both clients: subscribe first, then load the initial state (no gap).
                    steady = await Socket(survivor, owner).open()
                    moving = await Socket(doomed, owner).open()
                    steady_state, moving_state = {}, {}
                    merge(steady_state, snapshot())
                    merge(moving_state, snapshot())

                    for i, agent_id in enumerate(agents[:3]):  # written on the doomed server
                        patch(via_doomed, agent_id, f"before kill {i}")
                    merge(steady_state, await steady.records())
                    merge(moving_state, await moving.records())
                    assert view(moving_state) == view(steady_state)
                    last_seen = max(record["updated_at"] for record in moving_state.values())

                    doomed.process.send_signal(signal.SIGKILL)
                    doomed.process.wait(10)
                    # Changes the moving client misses while it has no server.
                    for i, agent_id in enumerate(agents[1:]):
                        patch(http, agent_id, f"while down {i}")
                    created = http.post("/api/v1/agents/", json={"name": "created while down", "type": "market"})
                    assert created.status_code == 201, created.text
                    await asyncio.sleep(0.5)

                    # Reconnect to the survivor: subscribe, then fetch what changed since the last seen
                    # change (inclusive), then keep applying pushes.
                    moving_again = await Socket(survivor, owner).open()
                    merge(moving_state, snapshot({"updated_after": last_seen}))
                    for i, agent_id in enumerate(agents):
                        patch(http, agent_id, f"after reconnect {i}")
                    merge(steady_state, await steady.records())
                    merge(moving_state, await moving_again.records())

                    assert created.json()["id"] in moving_state
                    assert view(moving_state) == view(steady_state)
                    assert view(steady_state) == view({r["id"]: r for r in snapshot()})  # and with the database
                    for ws in (steady, moving_again):
                        await ws.close()

                run(scenario)
        assert survivor.stop() == 0, survivor.output()
    finally:
        doomed.kill()
        survivor.kill()
