"""Change capture in PostgreSQL: every writer's change reaches exactly its readers' sockets once.

Writers: ORM `save()`, `queryset.update()`, `bulk_create`, COPY, plain SQL over a connection of
its own, the admin and REST. Then what the relay guarantees: commit order without skipping a
transaction that commits late, cascade deletes reaching the parent's readers with the full old
row, resume from a position, retention.
"""

from __future__ import annotations

import orjson
import pytest
from django.db import transaction
from django.test import Client as DjangoClient

from agents.models import Agent
from monitoring.models import AgentMetric
from realtime import relay
from realtime.models import ChangeLog, PendingChange, RelayState
from tests import factories
from tests.servers import outside_connection
from tests.realtime.helpers import Client, agent_binding, db, run, token_for

pytestmark = pytest.mark.django_db(transaction=True)

METRICS = {"event": "*", "schema": "public", "table": "agent_metrics"}




async def joined(user, *bindings, since=None):
    client = Client(token_for(user))
    assert (await client.connect())[0]
    reply, system = await client.join("capture", list(bindings), since=since)
    assert reply[4]["status"] == "ok" and system[4]["status"] == "ok", system
    return client


async def changes_seen(client) -> list[tuple]:
    seen = []
    for frame in await client.pushed():
        data = frame[4]["data"]
        row = data.get("record") or data["old_record"]
        seen.append((data["table"], data["type"], row["id"]))
    return seen


def _save(agent, admin_client, api_client):
    agent.name = "saved"
    agent.save()
    return [("agents", "UPDATE", str(agent.pk))]


def _queryset_update(agent, admin_client, api_client):
    Agent.objects.filter(pk=agent.pk).update(name="updated")
    return [("agents", "UPDATE", str(agent.pk))]


def _bulk_create(agent, admin_client, api_client):
    rows = AgentMetric.objects.bulk_create(
        [AgentMetric(agent=agent, metric_type="response_time", value=i, unit="ms") for i in range(3)])
    return [("agent_metrics", "INSERT", str(r.pk)) for r in rows]


def _copy(agent, admin_client, api_client):
    with outside_connection() as outside, outside.cursor() as cursor:
        with cursor.copy("COPY agent_metrics (agent_id, metric_type, value, unit, metadata, recorded_at) "
                         "FROM STDIN") as copy:
            for i in range(3):
                copy.write_row((agent.pk, "throughput", i, "count", "{}", "2026-12-02T10:00:00Z"))
    ids = AgentMetric.objects.filter(agent=agent, metric_type="throughput").order_by("value").values_list("pk", flat=True)
    return [("agent_metrics", "INSERT", str(pk)) for pk in ids]


def _plain_sql(agent, admin_client, api_client):
    with outside_connection() as outside:
        outside.execute("UPDATE agents SET description = 'from psql' WHERE id = %s", [agent.pk])
    return [("agents", "UPDATE", str(agent.pk))]


def _admin(agent, admin_client, api_client):
    response = admin_client.post("/admin/agents/agent/", {"action": "pause_agents", "_selected_action": [agent.pk]})
    assert response.status_code == 302, response.content
    return [("agents", "UPDATE", str(agent.pk))]


def _rest(agent, admin_client, api_client):
    response = api_client.patch(f"/api/v1/agents/{agent.pk}/", {"description": "over REST"}, format="json")
    assert response.status_code == 200, response.content
    return [("agents", "UPDATE", str(agent.pk))]


@pytest.mark.parametrize("write", [_save, _queryset_update, _bulk_create, _copy, _plain_sql, _admin, _rest],
                         ids=lambda w: w.__name__.strip("_"))
def test_every_writer_gives_one_push_per_row_to_readers_only(write, client_for):
    owner, viewer, outsider = factories.UserFactory(), factories.UserFactory(), factories.UserFactory()
    team = factories.TeamFactory(created_by=owner)
    factories.UserRoleFactory(user=viewer, team=team, role="viewer")
    agent = factories.AgentFactory(created_by=owner, team=team, status="active")
    admin_client = DjangoClient()
    admin_client.force_login(factories.UserFactory(is_superuser=True, is_staff=True))
    api_client = client_for(owner)

    async def scenario():
        sockets = {who: await joined(user, agent_binding(), METRICS)
                   for who, user in (("owner", owner), ("viewer", viewer), ("outsider", outsider))}
        expected = await db(write, agent, admin_client, api_client)
        seen = {who: await changes_seen(client) for who, client in sockets.items()}
        for client in sockets.values():
            await client.close()
        return expected, seen

    expected, seen = run(scenario)
    assert sorted(seen["owner"]) == sorted(expected)
    assert sorted(seen["viewer"]) == sorted(expected)
    assert seen["outsider"] == []


def test_a_rolled_back_write_is_never_captured():
    agent = factories.AgentFactory()
    relay.drain()
    with pytest.raises(RuntimeError), transaction.atomic():
        Agent.objects.filter(pk=agent.pk).update(status="error")
        raise RuntimeError("roll back")
    assert not PendingChange.objects.exists()
    assert relay.drain() == 0


def test_a_transaction_that_commits_late_is_handed_on_after_the_later_one_not_skipped():
    early, late = factories.AgentFactory(), factories.AgentFactory()
    relay.drain()
    start = RelayState.objects.get().position
    with outside_connection() as long_running:
        long_running.execute("UPDATE agents SET name = 'begun first' WHERE id = %s", [early.pk])  # open, not committed
        with outside_connection() as quick:
            quick.execute("UPDATE agents SET name = 'committed first' WHERE id = %s", [late.pk])
        assert relay.drain() == 1  # the committed one; the open one is not visible, hence waits
        long_running.commit()
    assert relay.drain() == 1
    logged = list(ChangeLog.objects.filter(position__gt=start).order_by("position").values_list("position", "message"))
    names = [orjson.loads(bytes(m))["variants"][0]["data"]["record"]["name"] for _, m in logged]
    assert names == ["committed first", "begun first"]  # commit order; neither skipped
    assert logged[0][0] < logged[1][0]


def test_a_cascade_delete_reaches_the_parents_readers_with_the_full_old_rows():
    owner, viewer, outsider = factories.UserFactory(), factories.UserFactory(), factories.UserFactory()
    team = factories.TeamFactory(created_by=owner)
    factories.UserRoleFactory(user=viewer, team=team, role="viewer")
    agent = factories.AgentFactory(created_by=owner, team=team)
    deployment = factories.DeploymentFactory(agent=agent)
    deployments = {"event": "DELETE", "schema": "public", "table": "deployments"}

    async def scenario():
        view = await joined(viewer, deployments)
        spy = await joined(outsider, deployments)
        await db(lambda: psql_delete(agent.pk))
        frames = await view.pushed()
        assert await spy.pushed() == []
        await view.close()
        await spy.close()
        return frames

    def psql_delete(agent_id):
        with outside_connection() as outside:  # the database cascades (ON DELETE CASCADE)
            outside.execute("DELETE FROM agents WHERE id = %s", [agent_id])

    [frame] = run(scenario)
    old = frame[4]["data"]["old_record"]
    assert old["id"] == str(deployment.pk) and old["agent_id"] == str(agent.pk)
    assert set(old) >= {"status", "version", "trigger_type", "created_at"}  # the full row


def test_a_socket_resumes_from_its_last_position_without_gap_or_duplicate():
    owner = factories.UserFactory()
    agent = factories.AgentFactory(created_by=owner)

    async def scenario():
        first = await joined(owner, agent_binding(owner.pk))
        await db(Agent.objects.filter(pk=agent.pk).update, name="seen")
        [seen] = await first.pushed()
        position = seen[4]["data"]["position"]
        await first.close()
        for i in range(5):  # while away
            await db(Agent.objects.filter(pk=agent.pk).update, name=f"missed {i}")
        back = await joined(owner, agent_binding(owner.pk), since=position)
        await db(Agent.objects.filter(pk=agent.pk).update, name="live")
        frames = await back.pushed()
        await back.close()
        return position, frames

    position, frames = run(scenario)
    names = [f[4]["data"]["record"]["name"] for f in frames]
    assert names == [f"missed {i}" for i in range(5)] + ["live"]
    positions = [f[4]["data"]["position"] for f in frames]
    assert positions == sorted(positions) and positions[0] > position and len(set(positions)) == 6


def test_a_resume_past_the_retention_is_told_to_refetch(settings):
    settings.REALTIME_LOG_MAX_ROWS = 2
    owner = factories.UserFactory()
    agent = factories.AgentFactory(created_by=owner)
    relay.drain()
    start = RelayState.objects.get().position
    for i in range(6):
        Agent.objects.filter(pk=agent.pk).update(name=f"change {i}")
    relay.drain()
    assert relay.prune() >= 4
    assert ChangeLog.objects.count() == 2  # bounded by size

    async def scenario():
        client = Client(token_for(owner))
        assert (await client.connect())[0]
        reply, system = await client.join("capture", [agent_binding(owner.pk)], since=start)
        told = await client.recv()
        await client.close()
        return told

    told = run(scenario)
    assert told[3] == "system" and told[4]["status"] == "error"
    assert told[4]["message"].startswith("resume_expired:")


def test_the_log_is_pruned_by_age(settings):
    agent = factories.AgentFactory()
    Agent.objects.filter(pk=agent.pk).update(name="old")
    relay.drain()
    old = ChangeLog.objects.update(committed_at="2026-01-01T00:00:00Z")
    settings.REALTIME_LOG_RETENTION_SECONDS = 60
    Agent.objects.filter(pk=agent.pk).update(name="new")  # a change of now stays
    relay.drain()
    assert relay.prune() == old
    assert ChangeLog.objects.count() == 1 and RelayState.objects.get().pruned_through > 0


def test_never_columns_never_enter_the_capture():
    workflow = factories.WorkflowFactory()
    with outside_connection() as outside:
        outside.execute("UPDATE workflows SET name = 'renamed' WHERE id = %s", [workflow.pk])
    rows = [r for p in PendingChange.objects.filter(table_name="workflows") for r in p.rows]
    assert rows and all("webhook_secret" not in (new or {}) and "webhook_secret" not in (old or {})
                        for new, old in rows)
