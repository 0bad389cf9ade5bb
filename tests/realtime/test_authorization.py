"""Who receives which change: the row policy decides, filters only narrow (the RLS rule)."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from accounts.models import Role, UserRole
from agents.models import Agent, AgentTemplate
from agents.services import agent_set_status
from echelon.policy import policy_for
from notifications.models import AgentThought, Notification
from notifications.services import notifications_mark_read
from realtime import relay
from tests import factories
from tests.realtime.helpers import Client, agent_binding, db, run, token_for
from workflows.models import Workflow

pytestmark = pytest.mark.django_db(transaction=True)


async def connected(user, *bindings, name="agent-changes"):
    client = Client(token_for(user))
    assert (await client.connect())[0]
    reply, system = await client.join(name, list(bindings))
    assert reply[4]["status"] == "ok" and system[4]["status"] == "ok", system
    return client


async def received_ids(client) -> list[tuple[str, str, str]]:
    """(table, type, row id) of every change pushed to `client` for the writes made so far."""
    seen = []
    for frame in await client.pushed():
        assert frame[3] == "postgres_changes", frame
        data = frame[4]["data"]
        row = data.get("record") or data["old_record"]
        seen.append((data["table"], data["type"], row["id"]))
    return seen


@pytest.fixture
def team_setup():
    owner, viewer, outsider = factories.UserFactory(), factories.UserFactory(), factories.UserFactory()
    team = factories.TeamFactory(created_by=owner)
    factories.UserRoleFactory(user=owner, team=team, role=Role.ADMIN)
    role = factories.UserRoleFactory(user=viewer, team=team, role=Role.VIEWER)
    return owner, viewer, outsider, team, role


def test_owner_and_team_viewer_receive_outsider_with_owner_filter_does_not(team_setup):
    owner, viewer, outsider, team, _ = team_setup

    async def scenario():
        own = await connected(owner, agent_binding(owner.pk))
        view = await connected(viewer, agent_binding())
        spy = await connected(outsider, agent_binding(owner.pk))
        agent = await db(factories.AgentFactory, created_by=owner, team=team)
        await db(agent_set_status, agent=agent, status="active", actor=owner)
        private = await db(factories.AgentFactory, created_by=owner)
        expected_team = [("agents", "INSERT", str(agent.pk)), ("agents", "UPDATE", str(agent.pk))]
        assert await received_ids(own) == expected_team + [("agents", "INSERT", str(private.pk))]
        assert await received_ids(view) == expected_team  # not the owner's private agent
        assert await received_ids(spy) == []
        for client in (own, view, spy):
            await client.close()

    run(scenario)


def test_filters_only_narrow(team_setup):
    owner, viewer, _, team, _ = team_setup

    async def scenario():
        # the viewer filters on the owner's id: still only what the viewer may read
        view = await connected(viewer, agent_binding(owner.pk))
        team_agent = await db(factories.AgentFactory, created_by=owner, team=team)
        await db(factories.AgentFactory, created_by=owner)
        assert await received_ids(view) == [("agents", "INSERT", str(team_agent.pk))]
        await view.close()

    run(scenario)


def test_superuser_receives_every_change():
    admin, someone = factories.UserFactory(is_superuser=True, is_staff=True), factories.UserFactory()

    async def scenario():
        client = await connected(admin, agent_binding(),
                                 {"event": "INSERT", "schema": "public", "table": "notifications"})
        agent = await db(factories.AgentFactory, created_by=someone)
        note = await db(factories.NotificationFactory, user=someone)
        assert await received_ids(client) == [("agents", "INSERT", str(agent.pk)),
                                              ("notifications", "INSERT", str(note.pk))]
        await client.close()

    run(scenario)


def test_losing_team_membership_stops_team_pushes_at_once_on_every_socket(team_setup):
    owner, viewer, _, team, role = team_setup
    agent = factories.AgentFactory(created_by=owner, team=team)

    async def scenario():
        first = await connected(viewer, agent_binding())
        second = Client(token_for(viewer), "1.0.0")
        await second.connect()
        await second.join("other", [agent_binding()])
        await db(agent_set_status, agent=agent, status="active", actor=owner)
        assert len(await received_ids(first)) == 1 and len(await received_ids(second)) == 1

        await db(role.delete)
        await db(agent_set_status, agent=agent, status="paused", actor=owner)
        assert await received_ids(first) == [] and await received_ids(second) == []

        # and gaining it back starts them again, without reconnecting
        await db(factories.UserRoleFactory, user=viewer, team=team)
        await db(agent_set_status, agent=agent, status="error", actor=owner)
        assert await received_ids(first) == [("agents", "UPDATE", str(agent.pk))]
        assert await received_ids(second) == [("agents", "UPDATE", str(agent.pk))]
        for client in (first, second):
            await client.close()

    run(scenario)


def test_moving_a_membership_to_another_team_moves_the_pushes(team_setup):
    owner, viewer, _, team, role = team_setup
    other_team = factories.TeamFactory(created_by=owner)
    agent = factories.AgentFactory(created_by=owner, team=team)
    other_agent = factories.AgentFactory(created_by=owner, team=other_team)

    async def scenario():
        client = await connected(viewer, agent_binding())

        def move():
            role.team = other_team
            role.save()

        await db(move)
        await db(agent_set_status, agent=agent, status="active", actor=owner)
        await db(agent_set_status, agent=other_agent, status="active", actor=owner)
        assert await received_ids(client) == [("agents", "UPDATE", str(other_agent.pk))]
        await client.close()

    run(scenario)


def test_delete_reaches_those_who_could_read_the_row_before(team_setup):
    owner, viewer, outsider, team, _ = team_setup
    agent = factories.AgentFactory(created_by=owner, team=team)
    workflow = factories.WorkflowFactory(agent=agent)
    agent_id, workflow_id = str(agent.pk), str(workflow.pk)

    async def scenario():
        view = await connected(viewer, agent_binding(event="DELETE"),
                               {"event": "DELETE", "schema": "public", "table": "workflows"})
        spy = await connected(outsider, agent_binding(event="DELETE"))
        await db(agent.delete)  # cascades to the workflow
        got = await received_ids(view)
        assert sorted(got) == sorted([("agents", "DELETE", agent_id), ("workflows", "DELETE", workflow_id)])
        assert await received_ids(spy) == []
        for client in (view, spy):
            await client.close()

    run(scenario)


def test_delete_filter_matches_the_old_record(team_setup):
    owner, *_ = team_setup
    agent = factories.AgentFactory(created_by=owner)

    async def scenario():
        client = await connected(owner, agent_binding(owner.pk, event="DELETE"))
        await db(agent.delete)
        frame = await client.change()
        assert frame[4]["data"]["old_record"]["created_by"] == str(owner.pk)
        assert "record" not in frame[4]["data"]
        await client.close()

    run(scenario)


def test_rolled_back_write_pushes_nothing(team_setup):
    owner, *_ = team_setup
    agent = factories.AgentFactory(created_by=owner)

    async def scenario():
        client = await connected(owner, agent_binding(owner.pk))

        def failing_write():
            with transaction.atomic():
                agent_set_status(agent=agent, status="active", actor=owner)
                factories.AgentFactory(created_by=owner)
                raise RuntimeError("roll back")

        with pytest.raises(RuntimeError):
            await db(failing_write)
        assert await received_ids(client) == []
        await client.close()

    run(scenario)


def test_bulk_path_publishes_each_row(team_setup):
    owner, viewer, *_ = team_setup
    notes = [factories.NotificationFactory(user=owner) for _ in range(3)]
    factories.NotificationFactory(user=viewer)

    async def scenario():
        own = await connected(owner, {"event": "UPDATE", "schema": "public", "table": "notifications",
                                      "filter": f"user_id=eq.{owner.pk}"})
        view = await connected(viewer, {"event": "*", "schema": "public", "table": "notifications"})
        assert await db(notifications_mark_read, user=owner) == 3
        got = await received_ids(own)
        assert sorted(got) == sorted(("notifications", "UPDATE", str(n.pk)) for n in notes)
        assert await received_ids(view) == []
        for client in (own, view):
            await client.close()

    run(scenario)


def test_inactive_user_loses_channels_and_the_socket():
    user = factories.UserFactory()

    async def scenario():
        client = await connected(user, agent_binding(user.pk))

        def deactivate():
            user.is_active = False
            user.save()

        await db(deactivate)
        system = await client.recv()
        assert system[3] == "system" and system[4]["status"] == "error"
        assert (await client.recv())[3] == "phx_close"
        # ...and the socket itself closes (issue 12, point 3)
        assert await client.comm.receive_output(3) == {"type": "websocket.close", "code": 4001}
        await client.close()

    run(scenario)


def test_users_changes_never_carry_django_auth_columns():
    """The user's own variant (UserPolicy.columns[self]): its flags, never the hash or bookkeeping."""
    user = factories.UserFactory()

    async def scenario():
        client = await connected(user, {"event": "UPDATE", "schema": "public", "table": "users"})

        def rename():
            user.full_name = "New Name"
            user.save()

        await db(rename)
        data = (await client.change())[4]["data"]
        assert data["record"]["full_name"] == "New Name"
        for hidden in ("password", "is_active", "last_login"):
            assert hidden not in data["record"] and hidden not in data["old_record"]
            assert hidden not in {c["name"] for c in data["columns"]}
        await client.close()

    run(scenario)


def test_receiving_agrees_with_visible_to():
    """For a set of users and rows of several tables: receives the change ⇔ policy says visible."""
    owner, manager, viewer, outsider = (factories.UserFactory() for _ in range(4))
    admin = factories.UserFactory(is_superuser=True, is_staff=True)
    team = factories.TeamFactory(created_by=owner)
    factories.UserRoleFactory(user=manager, team=team, role=Role.AGENT_MANAGER)
    factories.UserRoleFactory(user=viewer, team=team, role=Role.VIEWER)
    users = [owner, manager, viewer, outsider, admin]
    tables = ["agents", "workflows", "agent_thoughts", "notifications", "agent_templates"]

    def write_rows():
        team_agent = factories.AgentFactory(created_by=owner, team=team)
        private_agent = factories.AgentFactory(created_by=owner)
        outsider_agent = factories.AgentFactory(created_by=outsider)
        rows = [team_agent, private_agent, outsider_agent,
                factories.WorkflowFactory(agent=team_agent), factories.WorkflowFactory(agent=private_agent),
                factories.AgentThoughtFactory(execution__workflow__agent=team_agent),
                factories.NotificationFactory(user=viewer), factories.NotificationFactory(user=owner),
                factories.AgentTemplateFactory(created_by=outsider, is_public=True),
                factories.AgentTemplateFactory(created_by=outsider, is_public=False)]
        return rows

    async def scenario():
        clients = {}
        for user in users:
            bindings = [{"event": "INSERT", "schema": "public", "table": t} for t in tables]
            clients[user.pk] = await connected(user, *bindings)
        rows = await db(write_rows)
        tracked = {str(r.pk) for r in rows}
        received = {}
        for user in users:
            received[user.pk] = {rid for _, _, rid in await received_ids(clients[user.pk]) if rid in tracked}
            await clients[user.pk].close()
        return rows, received

    rows, received = run(scenario)
    assert Workflow.objects.exists() and AgentThought.objects.exists()
    for user in users:
        visible = {str(r.pk) for r in rows if policy_for(r).visible_to(user).filter(pk=r.pk).exists()}
        assert received[user.pk] == visible, f"{user.email}: received {received[user.pk]} but may see {visible}"
    assert received[outsider.pk] != received[owner.pk]  # the matrix is not trivially uniform


def test_publisher_queries_do_not_depend_on_subscribers(team_setup):
    owner, viewer, _, team, _ = team_setup
    agent = factories.AgentFactory(created_by=owner, team=team)

    def change(status):
        agent_set_status(agent=agent, status=status, actor=owner)
        with CaptureQueriesContext(connection) as ctx:  # the relay's work: audience and variants once
            relay.drain()
        return len(ctx.captured_queries)

    async def scenario():
        await db(relay.drain)  # the set-up's changes
        alone = await db(change, "active")
        clients = [await connected(viewer, agent_binding(), name=f"c{i}") for i in range(20)]
        crowded = await db(change, "paused")
        for client in clients:
            await client.close()
        return alone, crowded

    alone, crowded = run(scenario)
    assert alone == crowded, (alone, crowded)
    assert Agent.objects.filter(pk=agent.pk, status="paused").exists()
    assert Notification.objects.filter(user=owner).count() == 2
    assert not UserRole.objects.filter(user=owner, team__isnull=True).exists()
    assert AgentTemplate.objects.count() == 0


def test_bulk_membership_update_reloads_the_users_teams(team_setup):
    owner, viewer, _, team, role = team_setup
    other_team = factories.TeamFactory(created_by=owner)
    agent = factories.AgentFactory(created_by=owner, team=team)

    async def scenario():
        client = await connected(viewer, agent_binding())

        def bulk_move():
            UserRole.objects.filter(pk=role.pk).update(team=other_team)

        await db(bulk_move)
        await db(agent_set_status, agent=agent, status="active", actor=owner)
        assert await received_ids(client) == []
        await client.close()

    run(scenario)
