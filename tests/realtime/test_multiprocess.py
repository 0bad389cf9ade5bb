"""Several server processes share changes through Redis (one subscription per process)."""

from __future__ import annotations

import asyncio
import json

import pytest
from websockets.asyncio.client import connect

from accounts.models import Role
from agents.services import agent_set_status
from realtime.relay import leader_present, relay_connected
from tests import factories
from tests.monitoring.servers import DaphneServer
from tests.realtime.helpers import agent_binding, db, run, token_for
from tests.servers import outside_connection

pytestmark = pytest.mark.django_db(transaction=True)


async def subscribe(host, port, user, bindings, topic="realtime:agent-changes"):
    ws = await connect(f"ws://{host}:{port}/realtime/v1/websocket?apikey={token_for(user)}&vsn=2.0.0")
    await ws.send(json.dumps(["1", "1", topic, "phx_join", {"config": {"postgres_changes": bindings}}]))
    reply = json.loads(await asyncio.wait_for(ws.recv(), 5))
    system = json.loads(await asyncio.wait_for(ws.recv(), 5))
    assert reply[4]["status"] == "ok" and system[4]["message"] == "Subscribed to PostgreSQL", (reply, system)
    return ws


async def changes(ws, quiet=0.5) -> list[tuple[str, str]]:
    got = []
    while True:
        try:
            frame = json.loads(await asyncio.wait_for(ws.recv(), quiet))
        except TimeoutError:
            return got
        data = frame[4]["data"]
        got.append((data["type"], (data.get("record") or data["old_record"])["id"]))


def test_change_reaches_sockets_on_every_process(daphne_server):
    owner, viewer = factories.UserFactory(), factories.UserFactory()
    team = factories.TeamFactory(created_by=owner)
    role = factories.UserRoleFactory(user=viewer, team=team, role=Role.VIEWER)
    agent = factories.AgentFactory(created_by=owner, team=team)
    server_a, server_b = daphne_server(), daphne_server()

    async def scenario():
        owner_on_a = await subscribe(*server_a, owner, [agent_binding(owner.pk)])
        viewer_on_b = await subscribe(*server_b, viewer, [agent_binding()])
        await db(agent_set_status, agent=agent, status="active", actor=owner)
        expected = [("UPDATE", str(agent.pk))]
        assert await changes(owner_on_a) == expected
        assert await changes(viewer_on_b) == expected

        # a membership lost in this process stops the pushes on process B at once
        await db(role.delete)
        await db(agent_set_status, agent=agent, status="paused", actor=owner)
        assert await changes(owner_on_a) == [("UPDATE", str(agent.pk))]
        assert await changes(viewer_on_b) == []
        for ws in (owner_on_a, viewer_on_b):
            await ws.close()

    run(scenario)


def test_a_servers_relay_child_leads_under_its_servers_name_and_leaves_after_it():
    server = DaphneServer()  # ready once its relay leads
    pid = server.process.pid
    with outside_connection(autocommit=True) as conn:
        assert relay_connected(conn, pid) and leader_present(conn)
    assert server.stop() == 0  # returns once the relay left the database (fails after 30 s)
    with outside_connection(autocommit=True) as conn:
        assert not relay_connected(conn, pid) and not leader_present(conn)
