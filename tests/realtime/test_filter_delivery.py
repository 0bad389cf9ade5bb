"""postgres_changes filters on live subscriptions (issue 15): several conditions ANDed, the 2026
operators, and an UPDATE that makes a row leave a filter still delivered to those who saw it
enter (supabase #6244); a filter never widens who receives (the outsider gets nothing)."""

from __future__ import annotations

import pytest

from agents.models import Agent
from tests import factories
from tests.realtime.helpers import Client, db, run, token_for

pytestmark = pytest.mark.django_db(transaction=True)


def statuses(frames) -> list:
    return [(f[4]["data"]["old_record"].get("status"), f[4]["data"]["record"]["status"])
            for f in frames if f[3] == "postgres_changes"]


def test_an_update_leaving_the_filter_is_delivered_and_conditions_are_anded():
    owner, outsider = factories.UserFactory(), factories.UserFactory()
    agent = factories.AgentFactory(created_by=owner, name="Alpha, the first", status="inactive")
    binding = {"event": "UPDATE", "schema": "public", "table": "agents",
               "filter": f"status=eq.active,name=ilike.alpha%,created_by=eq.{owner.pk}"}

    async def scenario():
        mine, theirs = Client(token_for(owner)), Client(token_for(outsider))
        for client in (mine, theirs):
            await client.connect()
            _, system = await client.join("agents", [binding])
            assert system[4]["status"] == "ok", system
        for status in ("active", "paused", "error", "active"):
            await db(Agent.objects.filter(pk=agent.pk).update, status=status)
        await db(Agent.objects.filter(pk=agent.pk).update, name="Beta")  # leaves the name condition
        await db(Agent.objects.filter(pk=agent.pk).update, status="paused")  # matched neither before nor after
        frames = await mine.pushed()
        # enters, leaves (#6244), -, enters, leaves by its name; not paused→error nor the last one
        assert statuses(frames) == [("inactive", "active"), ("active", "paused"), ("error", "active"),
                                    ("active", "active")]
        assert await theirs.pushed() == []
        for client in (mine, theirs):
            await client.close()

    run(scenario)


def test_select_sends_only_the_listed_columns_and_bad_lists_are_named():
    owner = factories.UserFactory()
    agent = factories.AgentFactory(created_by=owner, status="inactive")
    narrow = {"event": "UPDATE", "schema": "public", "table": "agents", "select": ["id", "status"]}
    full = {"event": "*", "schema": "public", "table": "agents"}

    async def scenario():
        client = Client(token_for(owner))
        await client.connect()
        _, system = await client.join("agents", [narrow, full])
        assert system[4]["status"] == "ok", system
        await db(Agent.objects.filter(pk=agent.pk).update, status="active")
        frames = [f for f in await client.pushed() if f[3] == "postgres_changes"]
        by_ids = {tuple(f[4]["ids"]): f[4]["data"] for f in frames}
        assert len(frames) == 2 and len(by_ids) == 2
        narrow_data = next(data for data in by_ids.values() if set(data["record"]) == {"id", "status"})
        assert narrow_data["record"] == {"id": str(agent.pk), "status": "active"}
        assert set(narrow_data["old_record"]) == {"id", "status"}
        assert [c["name"] for c in narrow_data["columns"]] == ["id", "status"]
        assert any("name" in data["record"] for data in by_ids.values())  # the binding without select: all
        for select, message in ((["nope"], "unknown column 'nope' in select"), (5, "select must be a list")):
            _, system = await client.join("bad", [{**narrow, "select": select}])
            assert system[4]["status"] == "error" and message in system[4]["message"], system
        await client.close()

    run(scenario)
