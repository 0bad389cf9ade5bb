"""Every message of the realtime protocol (docs/realtime.md), for vsn 1.0.0 and 2.0.0."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.test import override_settings

from agents.services import agent_set_status
from tests import factories
from tests.realtime.helpers import VSNS, Client, agent_binding, db, run, token_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("vsn", VSNS)
def test_join_reply_echoes_bindings_with_ids_then_system_ok(vsn):
    user = factories.UserFactory()
    bindings = [agent_binding(user.pk),
                {"event": "INSERT", "schema": "public", "table": "notifications", "filter": f"user_id=eq.{user.pk}"}]

    async def scenario():
        client = Client(token_for(user), vsn)
        assert (await client.connect())[0]
        reply, system = await client.join("agent-changes", bindings)
        join_ref, ref, topic, event, payload = reply
        assert (ref, topic, event) == ("1", "realtime:agent-changes", "phx_reply")
        assert join_ref == ("1" if vsn == "2.0.0" else None)
        assert payload["status"] == "ok"
        echoed = payload["response"]["postgres_changes"]
        assert [{k: v for k, v in e.items() if k != "id"} for e in echoed] == bindings
        assert all(isinstance(e["id"], int) and e["id"] != 0 for e in echoed)
        assert system[2:4] == ("realtime:agent-changes", "system") and system[1] is None
        assert system[4] == {"extension": "postgres_changes", "status": "ok",
                             "message": "Subscribed to PostgreSQL", "channel": "agent-changes"}
        await client.close()

    run(scenario)


def test_vsn_defaults_to_1_0_0_when_missing():
    user = factories.UserFactory()

    async def scenario():
        client = Client(token_for(user), vsn=None)
        assert (await client.connect())[0]
        await client.send(None, "1", "phoenix", "heartbeat", {})
        text = await client.comm.receive_from()
        assert json.loads(text) == {"topic": "phoenix", "event": "phx_reply", "ref": "1",
                                    "payload": {"status": "ok", "response": {}}}
        await client.close()

    run(scenario)


@pytest.mark.parametrize("vsn", VSNS)
def test_bare_realtime_topic_is_refused(vsn):
    user = factories.UserFactory()

    async def scenario():
        client = Client(token_for(user), vsn)
        await client.connect()
        await client.send("1", "1", "realtime:", "phx_join", {"config": {"postgres_changes": []}})
        _, ref, topic, event, payload = await client.recv()
        assert (ref, topic, event, payload["status"]) == ("1", "realtime:", "phx_reply", "error")
        assert "realtime:<name>" in payload["response"]["reason"]
        await client.close()

    run(scenario)


@pytest.mark.parametrize("vsn", VSNS)
@pytest.mark.parametrize("bad_filter, named", [
    ("nope=eq.1", "unknown column 'nope'"),
    ("status=regex.active", "unknown operator 'regex'"),
    ("status=in.active,paused", "malformed in list"),
    ("status=in.(" + ",".join(str(i) for i in range(101)) + ")", "at most 100"),
    ("created_by=eq.not-a-uuid", "not a valid uuid"),
])
def test_bad_filter_joins_ok_then_system_error_and_socket_stays_usable(vsn, bad_filter, named):
    user = factories.UserFactory()

    async def scenario():
        client = Client(token_for(user), vsn)
        await client.connect()
        bad = {"event": "*", "schema": "public", "table": "agents", "filter": bad_filter}
        reply, system = await client.join("bad", [bad])
        assert reply[4]["status"] == "ok"
        assert reply[4]["response"]["postgres_changes"][0]["filter"] == bad_filter
        assert system[3] == "system" and system[4]["status"] == "error"
        assert named in system[4]["message"] and bad_filter[:20] in system[4]["message"]
        # the bad subscription receives nothing; the socket still serves a good channel
        await client.join("good", [agent_binding(user.pk)])
        agent = await db(factories.AgentFactory, created_by=user)
        frame = await client.change()
        assert frame[2] == "realtime:good" and frame[4]["data"]["record"]["id"] == str(agent.pk)
        assert await client.pushed() == []
        await client.close()

    run(scenario)


@pytest.mark.parametrize("vsn", VSNS)
def test_unknown_table_and_event_are_system_errors(vsn):
    user = factories.UserFactory()

    async def scenario():
        client = Client(token_for(user), vsn)
        await client.connect()
        _, system = await client.join("x", [{"event": "*", "schema": "public", "table": "nope"}])
        assert system[4]["status"] == "error" and "unknown table 'nope'" in system[4]["message"]
        _, system = await client.join("y", [{"event": "TRUNCATE", "schema": "public", "table": "agents"}])
        assert system[4]["status"] == "error" and "invalid event 'TRUNCATE'" in system[4]["message"]
        await client.close()

    run(scenario)


@pytest.mark.parametrize("vsn", VSNS)
def test_heartbeat_reply(vsn):
    user = factories.UserFactory()

    async def scenario():
        client = Client(token_for(user), vsn)
        await client.connect()
        await client.send(None, "7", "phoenix", "heartbeat", {})
        assert await client.recv() == (None, "7", "phoenix", "phx_reply", {"status": "ok", "response": {}})
        await client.close()

    run(scenario)


@pytest.mark.parametrize("vsn", VSNS)
def test_access_token_refresh_valid_keeps_channel(vsn):
    user = factories.UserFactory()

    async def scenario():
        client = Client(token_for(user), vsn)
        await client.connect()
        await client.join("agent-changes", [agent_binding(user.pk)])
        await client.send("1", "2", "realtime:agent-changes", "access_token", {"access_token": token_for(user)})
        assert await client.nothing()  # no reply
        agent = await db(factories.AgentFactory, created_by=user)
        frame = await client.change()
        assert frame[4]["data"]["record"]["id"] == str(agent.pk)
        await client.close()

    run(scenario)


@pytest.mark.parametrize("vsn", VSNS)
@pytest.mark.parametrize("token_kind", ["expired", "garbage"])
def test_access_token_refresh_invalid_sends_system_error_then_phx_close(vsn, token_kind):
    user = factories.UserFactory()
    bad = token_for(user, lifetime=-timedelta(seconds=5)) if token_kind == "expired" else "not.a.jwt"

    async def scenario():
        client = Client(token_for(user), vsn)
        await client.connect()
        await client.join("agent-changes", [agent_binding(user.pk)])
        await client.send("1", "2", "realtime:agent-changes", "access_token", {"access_token": bad})
        system = await client.recv()
        assert system[2:4] == ("realtime:agent-changes", "system")
        assert system[4]["status"] == "error" and system[4]["extension"] == "system"
        assert ("expired" in system[4]["message"]) if token_kind == "expired" else system[4]["message"]
        close = await client.recv()
        # phx_close carries the channel's join ref (vsn 2.0.0 frames also have a join_ref slot)
        assert close == (("1" if vsn == "2.0.0" else None), "1", "realtime:agent-changes", "phx_close", {})
        await db(factories.AgentFactory, created_by=user)
        assert await client.pushed() == []  # the channel is gone
        await client.send(None, "9", "phoenix", "heartbeat", {})
        assert (await client.recv())[4]["status"] == "ok"  # the socket itself stays open
        await client.close()

    run(scenario)


# A token expiring during the session closes its channels: tests/realtime/test_reauthorization.py,
# by the server's clock (a 1-second token here raced the connect on a loaded machine).


@pytest.mark.parametrize("vsn", VSNS)
def test_phx_leave_replies_then_phx_close_and_stops_changes(vsn):
    user = factories.UserFactory()

    async def scenario():
        client = Client(token_for(user), vsn)
        await client.connect()
        await client.join("agent-changes", [agent_binding(user.pk)])
        await client.send("1", "5", "realtime:agent-changes", "phx_leave", {})
        assert (await client.recv())[1:] == ("5", "realtime:agent-changes", "phx_reply",
                                             {"status": "ok", "response": {}})
        close = await client.recv()
        assert close == (("1", "1") if vsn == "2.0.0" else (None, "1")) + ("realtime:agent-changes", "phx_close", {})
        await db(factories.AgentFactory, created_by=user)
        assert await client.pushed() == []
        await client.close()

    run(scenario)


@pytest.mark.parametrize("vsn", VSNS)
def test_message_on_unjoined_topic_is_unmatched(vsn):
    user = factories.UserFactory()

    async def scenario():
        client = Client(token_for(user), vsn)
        await client.connect()
        await client.send("3", "4", "realtime:never-joined", "access_token", {"access_token": token_for(user)})
        frame = await client.recv()
        assert frame[1:] == ("4", "realtime:never-joined", "phx_reply",
                             {"status": "error", "response": {"reason": "unmatched topic"}})
        await client.close()

    run(scenario)


@pytest.mark.parametrize("token", [None, "garbage", "expired", "inactive"])
def test_upgrade_refused_without_valid_token(token):
    user = factories.UserFactory()
    if token == "expired":
        token = token_for(user, lifetime=-timedelta(seconds=1))
    elif token == "inactive":
        token = token_for(factories.UserFactory(is_active=False))

    async def scenario():
        client = Client(token)
        connected, _ = await client.connect()
        assert connected is False

    run(scenario)


@pytest.mark.parametrize("header", [b"x-api-key", b"apikey"])
def test_token_in_header_is_accepted(header):
    user = factories.UserFactory()

    async def scenario():
        client = Client(None, headers=[(header, token_for(user).encode())])
        assert (await client.connect())[0]
        await client.close()

    run(scenario)


def test_join_access_token_replaces_the_apikey_identity():
    owner, other = factories.UserFactory(), factories.UserFactory()

    async def scenario():
        client = Client(token_for(other))
        await client.connect()
        reply, _ = await client.join("agent-changes", [agent_binding()], access_token=token_for(owner))
        assert reply[4]["status"] == "ok"
        agent = await db(factories.AgentFactory, created_by=owner)
        assert (await client.change())[4]["data"]["record"]["id"] == str(agent.pk)
        await client.send("9", "9", "realtime:again", "phx_join",
                          {"config": {"postgres_changes": [agent_binding()]}, "access_token": "garbage"})
        reply = await client.recv()
        assert reply[4]["status"] == "error" and "invalid access token" in reply[4]["response"]["reason"]
        await client.close()

    run(scenario)


@override_settings(REALTIME_IDLE_TIMEOUT=0.5)
@pytest.mark.parametrize("vsn", VSNS)
def test_idle_socket_is_closed(vsn):
    user = factories.UserFactory()

    async def scenario():
        client = Client(token_for(user), vsn)
        await client.connect()
        output = await client.comm.receive_output(timeout=3)
        assert output == {"type": "websocket.close", "code": 1000}

    run(scenario)


@pytest.mark.parametrize("vsn", VSNS)
def test_change_frame_shape(vsn):
    user = factories.UserFactory()
    agent = factories.AgentFactory(created_by=user, status="paused")

    async def scenario():
        client = Client(token_for(user), vsn)
        await client.connect()
        reply, _ = await client.join("agent-changes", [agent_binding(user.pk)])
        sub_id = reply[4]["response"]["postgres_changes"][0]["id"]
        await db(agent_set_status, agent=agent, status="active", actor=user)
        join_ref, ref, topic, event, payload = await client.change()
        assert (join_ref, ref, topic) == (None, None, "realtime:agent-changes")
        assert payload["ids"] == [sub_id]
        data = payload["data"]
        assert (data["schema"], data["table"], data["type"], data["errors"]) == ("public", "agents", "UPDATE", None)
        assert len(data["commit_timestamp"]) == 24 and data["commit_timestamp"].endswith("Z")
        types = {c["name"]: c["type"] for c in data["columns"]}
        assert types["id"] == "uuid" and types["status"] == "varchar" and types["config"] == "jsonb"
        assert types["created_by"] == "uuid" and types["updated_at"] == "timestamptz"
        assert types["description"] == "text"
        assert data["record"]["status"] == "active" and data["old_record"]["status"] == "paused"
        assert data["record"]["config"] == {"symbols": ["ACME"], "interval": "5m"}
        assert await client.pushed() == []
        await client.close()

    run(scenario)
