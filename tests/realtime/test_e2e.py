"""End to end: the real @supabase/realtime-js client (Node) against a live daphne.

The seed's two subscriptions (agent changes filtered by created_by, INSERT notifications
filtered by user_id), an outsider filtering on the owner's id, a team viewer, a rollback, and
an UPDATE by the real psql client. Changes are captured in PostgreSQL whoever writes them;
daphne's relay hands them on (and writes the seed's notifications), through Redis.
"""

from __future__ import annotations

import json
import select
import subprocess
import time
from pathlib import Path

import pytest
from django.db import transaction

from accounts.models import Role
from agents.services import agent_set_status
from notifications.models import Notification
from realtime.models import PendingChange
from tests import factories
from tests.servers import psql
from tests.realtime.helpers import token_for

pytestmark = pytest.mark.django_db(transaction=True)

SCRIPT = Path(__file__).parent / "e2e" / "subscribe.mjs"


def seed_channels(user_id):
    return [
        {"name": "agent-changes", "bindings": [
            {"event": "*", "schema": "public", "table": "agents", "filter": f"created_by=eq.{user_id}"}]},
        {"name": "user-notifications", "bindings": [
            {"event": "INSERT", "schema": "public", "table": "notifications", "filter": f"user_id=eq.{user_id}"}]},
    ]


class NodeSubscribers:
    def __init__(self, node, url, vsn, clients):
        spec = {"url": url, "vsn": vsn, "clients": clients}
        self.proc = subprocess.Popen([node, str(SCRIPT), json.dumps(spec)], cwd=SCRIPT.parents[3],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def wait_ready(self, timeout=25):
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        line = self.proc.stdout.readline().strip() if ready else ""
        if line != "READY":
            self.proc.kill()
            out, err = self.proc.communicate()
            pytest.fail(f"realtime-js did not subscribe: {line}{out}\n{err}")

    def finish(self) -> dict:
        out, err = self.proc.communicate("DONE\n", timeout=30)
        assert self.proc.returncode == 0, f"node failed: {out}\n{err}"
        return json.loads(out.strip().splitlines()[-1])


@pytest.mark.parametrize("vsn", ["2.0.0", "1.0.0"])
def test_seed_subscriptions_with_the_real_client(vsn, daphne_server, node):
    owner, viewer, outsider = factories.UserFactory(), factories.UserFactory(), factories.UserFactory()
    team = factories.TeamFactory(created_by=owner)
    factories.UserRoleFactory(user=owner, team=team, role=Role.ADMIN)
    factories.UserRoleFactory(user=viewer, team=team, role=Role.VIEWER)
    host, port = daphne_server()

    subscribers = NodeSubscribers(node, f"ws://{host}:{port}/realtime/v1", vsn, [
        {"name": "owner", "token": token_for(owner), "channels": seed_channels(owner.pk)},
        {"name": "outsider", "token": token_for(outsider), "channels": seed_channels(owner.pk)},
        {"name": "viewer", "token": token_for(viewer), "channels": [
            {"name": "team-agents", "bindings": [{"event": "*", "schema": "public", "table": "agents"}]}]},
    ])
    subscribers.wait_ready()

    team_agent = factories.AgentFactory(created_by=owner, team=team, name="team agent")
    agent_set_status(agent=team_agent, status="active", actor=owner)  # UPDATE + a notification INSERT
    private_agent = factories.AgentFactory(created_by=owner, name="private agent")
    psql(f"UPDATE agents SET status = 'paused' WHERE id = '{team_agent.pk}'")  # no Django involved
    with pytest.raises(RuntimeError), transaction.atomic():
        factories.AgentFactory(created_by=owner, team=team, name="rolled back")
        agent_set_status(agent=team_agent, status="error", actor=owner)
        raise RuntimeError("roll back")

    # the server's relay hands the changes on and writes the two notifications (then hands them on)
    deadline = time.monotonic() + 60
    while (Notification.objects.filter(user=owner).count() < 2 or PendingChange.objects.exists()) \
            and time.monotonic() < deadline:
        time.sleep(0.1)
    result = subscribers.finish()
    events = result["events"]
    assert all(status == "SUBSCRIBED" for status in result["statuses"].values()), result["statuses"]

    def of(client):
        return [(e["channel"], e["table"], e["eventType"], (e["new"] or {}).get("id") or e["old"].get("id"))
                for e in events if e["client"] == client]

    owner_agents = [e for e in of("owner") if e[1] == "agents"]  # in commit order
    assert owner_agents == [
        ("agent-changes", "agents", "INSERT", str(team_agent.pk)),
        ("agent-changes", "agents", "UPDATE", str(team_agent.pk)),
        ("agent-changes", "agents", "INSERT", str(private_agent.pk)),
        ("agent-changes", "agents", "UPDATE", str(team_agent.pk)),
    ]
    updates = [e for e in events if e["client"] == "owner" and e["eventType"] == "UPDATE"]
    assert [(u["old"]["status"], u["new"]["status"]) for u in updates] == [("inactive", "active"), ("active", "paused")]
    assert updates[0]["new"]["config"] == {"symbols": ["ACME"], "interval": "5m"}  # jsonb → object
    # the seed's notification of each status change, the psql one's too, pushed to the owner
    notes = [e for e in events if e["table"] == "notifications"]
    assert {e["client"] for e in notes} == {"owner"}
    assert sorted(n["new"]["message"] for n in notes) == [
        'Agent "team agent" status changed from active to paused',
        'Agent "team agent" status changed from inactive to active']
    assert all(n["new"]["user_id"] == str(owner.pk) and n["new"]["title"] == "Agent Status Updated" for n in notes)
    assert of("outsider") == []
    assert of("viewer") == [
        ("team-agents", "agents", "INSERT", str(team_agent.pk)),
        ("team-agents", "agents", "UPDATE", str(team_agent.pk)),
        ("team-agents", "agents", "UPDATE", str(team_agent.pk)),
    ]
    assert not any((e["new"] or {}).get("name") == "rolled back" or (e["new"] or {}).get("status") == "error"
                   for e in events)
