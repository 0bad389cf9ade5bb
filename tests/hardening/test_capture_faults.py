"""Change capture under faults: a relay killed mid-stream, Redis stopped under two servers.

The database records every change, so neither loses one: a relay killed with SIGKILL leaves
its uncommitted batch pending (the next relay hands it on, its notifications written once), and
server processes that missed bus messages read them from the change log (late, not lost).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time

import pytest
from websockets.asyncio.client import connect

from agents.models import Agent
from notifications.models import Notification
from realtime.models import ChangeLog, PendingChange
from tests import factories
from tests.monitoring.servers import DaphneServer
from tests.realtime.helpers import agent_binding, run, token_for
from tests.servers import ROOT, live_database_url, outside_connection

pytestmark = pytest.mark.django_db(transaction=True)




def wait_for(condition, seconds: float = 60, what: str = "") -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"not within {seconds} s: {what}"
        time.sleep(0.1)


def relay_process() -> subprocess.Popen:
    env = dict(os.environ, DATABASE_URL=live_database_url(), DJANGO_SETTINGS_MODULE="echelon.settings")
    return subprocess.Popen([sys.executable, "manage.py", "relay"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_a_relay_killed_mid_stream_loses_nothing_and_notifies_once():
    owner = factories.UserFactory()
    agent = factories.AgentFactory(created_by=owner, status="inactive")
    statuses = ["active", "paused"] * 100  # 200 real status changes
    relay = relay_process()
    try:
        with outside_connection(autocommit=True) as writer:
            for i, status in enumerate(statuses):
                writer.execute("UPDATE agents SET status = %s WHERE id = %s", [status, agent.pk])
                if i == 60:
                    wait_for(lambda: ChangeLog.objects.exists(), what="the relay handing changes on")
                    relay.send_signal(signal.SIGKILL)  # mid-stream: batches pending, maybe one uncommitted
                    relay.wait()
                    relay = relay_process()
        wait_for(lambda: Notification.objects.filter(user=owner).count() >= len(statuses)
                 and not PendingChange.objects.exists(), what="every change handed on")
    finally:
        relay.kill()
        relay.wait()
    notes = list(Notification.objects.filter(user=owner).values_list("data", flat=True))
    assert len(notes) == len(statuses)  # one per real change, none twice
    updates = ChangeLog.objects.filter(table_name="agents", op="UPDATE")
    assert updates.count() == len(statuses)
    positions = list(updates.order_by("position").values_list("position", flat=True))
    assert len(set(positions)) == len(positions)
    assert Agent.objects.get(pk=agent.pk).status == statuses[-1]


async def _collect(ws, into: list) -> None:
    while True:
        frame = json.loads(await ws.recv())
        if frame[3] == "postgres_changes":
            into.append(frame[4]["data"]["record"]["name"])


def test_with_redis_stopped_every_socket_on_every_process_gets_every_change(redis_process):
    owner = factories.UserFactory()
    agent = factories.AgentFactory(created_by=owner)
    env = {"REDIS_URL": redis_process.url, "REALTIME_CATCHUP_SECONDS": "0.5", "LOG_LEVEL": "WARNING"}
    servers = [DaphneServer(**env), DaphneServer(**env)]
    names = [f"change {i}" for i in range(12)]

    async def scenario():
        sockets, seen, readers = [], [], []
        for server in servers:
            ws = await connect(f"{server.url.replace('http', 'ws')}/realtime/v1/websocket"
                               f"?apikey={token_for(owner)}&vsn=2.0.0")
            await ws.send(json.dumps(["1", "1", "realtime:a", "phx_join",
                                      {"config": {"postgres_changes": [agent_binding(owner.pk)]}}]))
            assert json.loads(await ws.recv())[4]["status"] == "ok"
            assert json.loads(await ws.recv())[4]["status"] == "ok"
            got: list = []
            sockets.append(ws)
            seen.append(got)
            readers.append(asyncio.create_task(_collect(ws, got)))

        def write(name):
            with outside_connection(autocommit=True) as writer:
                writer.execute("UPDATE agents SET name = %s WHERE id = %s", [name, agent.pk])

        async def until_all(count):
            deadline = time.monotonic() + 60
            while any(len(got) < count for got in seen):
                assert time.monotonic() < deadline, seen
                await asyncio.sleep(0.1)

        for name in names[:4]:
            write(name)
        await until_all(4)
        redis_process.stop()
        for name in names[4:8]:
            write(name)
        await until_all(8)  # from the change log, on both processes
        redis_process.start()
        for name in names[8:]:
            write(name)
        await until_all(12)
        await asyncio.sleep(1)  # a late duplicate would show now
        for task in readers:
            task.cancel()
        for ws in sockets:
            await ws.close()
        return seen

    try:
        seen = run(scenario)
    finally:
        for server in servers:
            server.kill()
    assert seen == [names, names]  # every change, in order, once, on each process
