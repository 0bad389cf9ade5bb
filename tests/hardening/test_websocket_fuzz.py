"""Bad input on the realtime websocket `/realtime/v1/websocket`, both `vsn`.

Every abuse gets a protocol error on its channel (an error `phx_reply` or a `system` error) and
the socket goes on; only a frame without a readable topic (not JSON, not the vsn's envelope, a
binary frame of an unknown kind) gets a clean close (4007 unreadable frame, 4009 frame over
REALTIME_MAX_FRAME_BYTES); the server keeps serving other sockets; a live daphne's resident
memory stays bounded.
In-process tests use Channels' communicator; the last test runs against a daphne subprocess.
"""

from __future__ import annotations

import asyncio
import json

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from agents.models import Agent
from agents.services import agent_set_status
from tests import factories
from realtime.protocol import CLOSE_FRAME_TOO_BIG, CLOSE_UNREADABLE_FRAME
from tests.servers import server_process
from tests.realtime.helpers import VSNS, Client, agent_binding, db, run, token_for

pytestmark = pytest.mark.django_db(transaction=True)

MB = 1024 * 1024
# Resident memory a live daphne may gain over 3 rounds of the abuse below, after a warm-up
# round of the same. Measured here: +1.2 to +2.5 MiB over 3 rounds (from ~98 MiB).
RSS_GROWTH_BOUND = 16 * MB


def frame(vsn: str, join_ref, ref, topic, event, payload) -> str:
    if vsn == "2.0.0":
        return json.dumps([join_ref, ref, topic, event, payload])
    return json.dumps({"join_ref": join_ref, "ref": ref, "topic": topic, "event": event, "payload": payload})


# Frames the server cannot read: closed with CLOSE_UNREADABLE_FRAME. Both the generic ones and the other vsn's shape.
UNREADABLE = {
    "common": ["", "{", "not json", "[1, 2", "null", "42", '"text"', "\x00", "[]", "{}",
               '{"topic": 5, "event": "phx_join", "payload": {}}', "[[[[[[[[[[[[]]]]]]]]]]]]",
               "\ud800" * 3],
    "2.0.0": ['{"topic": "realtime:a", "event": "phx_join", "payload": {}, "ref": "1"}',
              '["1", "1", "realtime:a", "phx_join"]', '["1", "1", "realtime:a", "phx_join", {}, 6]',
              '["1", "1", null, "phx_join", {}]'],
    "1.0.0": ['["1", "1", "realtime:a", "phx_join", {}]',
              '{"topic": ["realtime:a"], "event": "phx_join", "payload": {}, "ref": "1"}'],
}
# Frames whose topic can be read but whose event, payload or refs are wrong: an error reply on
# that topic, the socket goes on (issue 15: one channel's mistake never costs the others).
CHANNEL_ERRORS = {
    "2.0.0": ['["1", "1", "realtime:a", "", {}]', '["1", "1", "realtime:a", "phx_join", []]',
              '[{}, "1", "realtime:a", "phx_join", {}]', '["1", true, "realtime:a", "phx_join", {}]'],
    "1.0.0": ['{"topic": "realtime:a", "event": null, "payload": {}, "ref": "1"}',
              '{"topic": "realtime:a", "event": "phx_join", "payload": "x", "ref": "1"}',
              '{"topic": "realtime:a", "event": "phx_join", "payload": {}, "ref": [1]}'],
}


def binary_push(join_ref=b"1", ref=b"2", topic=b"realtime:a", event=b"ev", meta=b"", encoding=1, payload=b"{}"):
    """A kind-3 broadcast push as realtime-js's serializer builds it."""
    return (bytes((3, len(join_ref), len(ref), len(topic), len(event), len(meta), encoding))
            + join_ref + ref + topic + event + meta + payload)


# Binary frames with a readable topic but a bad body: an error reply on that topic.
BINARY_CHANNEL_ERRORS = [binary_push(payload=b"{not json"), binary_push(encoding=7), binary_push(event=b""),
                         binary_push(meta=b"{bad"), binary_push()]  # the last: a valid push on an unjoined topic
# Binary frames without a readable topic: closed with CLOSE_UNREADABLE_FRAME.
BINARY_UNREADABLE = [b'["1","1","realtime:a","phx_join",{}]', b"", b"\x03", bytes((3, 9, 9, 200, 9, 9, 1)) + b"short",
                     bytes((4, 1, 1, 1, 1)) + b"abcd", binary_push(topic=b"")]

# Filters refused with a system error naming the problem: SQL-ish values that do not cast to
# the column's type, unknown or nested operators, unknown columns, malformed or huge `in` lists.
BAD_FILTERS = [
    "created_by=eq.1' OR '1'='1", "created_by=eq.eq.x", "created_by=in.(1' OR 1=1)",
    "status=in.(" + ",".join(["active"] * 101) + ")",
    "status=in.(" + ",".join(f"s{i}" for i in range(10_000)) + ")", "status=not.not.eq.active",
    "and=(status.eq.active,name.eq.x)", "created_by=eq.", "=eq.1", "status", "created_by=like.%",
    "名前=eq.エージェント", "created_at=gt.not-a-date", "id=in.(1,2", "created_by=is.maybe",
    "config->>a=eq.1", "name;DROP TABLE agents=eq.x", "created_at=gt.2026-01-01' OR 1=1 --",
    "name=match.(a", "name=imatch." + "a" * 1001, "status=eq.a," * 20 + "status=eq.b",
]
# Well-formed filters whose value merely looks like an injection: taken literally (filters are
# matched in memory, never turned into SQL), so they subscribe and match nothing here.
LITERAL_FILTERS = [
    "name=eq.'; DROP TABLE agents; --", "name=eq.1' OR '1'='1", "name=in.(a' OR 1=1,b)",
    "status=eq.active;status=eq.paused", "name=eq.\u202eevil\x00", "name=eq." + "x" * 10_000,
    "description=eq.名前", "name=in.(' OR TRUE --)", "status=not.like.%", "status=like.%'--%",
    "created_by=is.null", "name=match.(a+)+$", "name=ilike.%'; DROP TABLE agents; --%",
]


async def connected(user, vsn: str) -> Client:
    client = Client(token_for(user), vsn)
    assert (await client.connect())[0], "the upgrade was refused"
    return client


def user_with_agent():
    user = factories.UserFactory()
    factories.AgentFactory(created_by=user)
    return user


@pytest.mark.parametrize("vsn", VSNS)
def test_unreadable_frames_close_the_socket_cleanly(vsn):
    user = factories.UserFactory()
    texts = UNREADABLE["common"] + UNREADABLE[vsn]

    async def scenario():
        for text in texts:
            client = await connected(user, vsn)
            await client.comm.send_input({"type": "websocket.receive", "text": text})
            closed = await client.comm.receive_output(3)
            assert closed == {"type": "websocket.close", "code": CLOSE_UNREADABLE_FRAME}, (text, closed)
        for data in BINARY_UNREADABLE:
            client = await connected(user, vsn)
            await client.comm.send_input({"type": "websocket.receive", "bytes": data})
            closed = await client.comm.receive_output(3)
            assert closed == {"type": "websocket.close", "code": CLOSE_UNREADABLE_FRAME}, (data, closed)

    run(scenario)


@pytest.mark.parametrize("vsn", VSNS)
def test_frames_with_a_readable_topic_get_an_error_reply_on_it_and_the_socket_goes_on(vsn):
    user = factories.UserFactory()

    async def scenario():
        client = await connected(user, vsn)
        for text in CHANNEL_ERRORS[vsn]:
            await client.comm.send_input({"type": "websocket.receive", "text": text})
            _, _, topic, event, payload = await client.recv()
            assert (topic, event, payload["status"]) == ("realtime:a", "phx_reply", "error"), text
            assert payload["response"]["reason"], text
        for data in BINARY_CHANNEL_ERRORS:
            await client.comm.send_input({"type": "websocket.receive", "bytes": data})
            join_ref, ref, topic, event, payload = await client.recv()
            assert (topic, event, payload["status"]) == ("realtime:a", "phx_reply", "error"), data
            assert payload["response"]["reason"], data
        await client.send(None, "hb", "phoenix", "heartbeat", {})
        assert (await client.recv())[1:4] == ("hb", "phoenix", "phx_reply")
        await client.close()

    run(scenario)


@pytest.mark.parametrize("vsn", VSNS)
def test_unknown_events_and_topics_get_error_replies(vsn):
    user = factories.UserFactory()

    async def scenario():
        client = await connected(user, vsn)
        await client.join("a", [])
        for topic, event in [("realtime:a", "broadcast"), ("realtime:a", "no_such_event"),
                             ("realtime:a", "x" * 5000), ("realtime:unjoined", "phx_leave"),
                             ("phoenix", "phx_leave"), ("phoenix", "nope"), ("elsewhere", "phx_join")]:
            await client.send("1", "9", topic, event, {"anything": [1, 2, {"deep": None}]})
            _, ref, got_topic, got_event, payload = await client.recv()
            assert (ref, got_topic, got_event, payload["status"]) == ("9", topic, "phx_reply", "error"), (
                topic, event, payload)
            assert payload["response"]["reason"], payload
        await client.send(None, "10", "phoenix", "heartbeat", {})  # still usable
        assert (await client.recv())[4] == {"status": "ok", "response": {}}
        await client.close()

    run(scenario)


@pytest.mark.parametrize("vsn", VSNS)
def test_a_frame_over_the_limit_closes_the_socket(vsn, settings):
    user = factories.UserFactory()

    async def scenario():
        client = await connected(user, vsn)
        big = frame(vsn, "1", "1", "realtime:a", "phx_join", {"config": {"junk": "x" * MB}})
        await client.comm.send_to(text_data=big)
        assert await client.comm.receive_output(3) == {"type": "websocket.close", "code": CLOSE_FRAME_TOO_BIG}
        # multi-byte characters count as bytes: 100k × 4-byte emoji is over 256 KiB
        client = await connected(user, vsn)
        await client.comm.send_to(text_data=frame(vsn, "1", "1", "realtime:a", "phx_join", {"x": "😀" * 100_000}))
        assert await client.comm.receive_output(3) == {"type": "websocket.close", "code": CLOSE_FRAME_TOO_BIG}

    run(scenario)


@pytest.mark.parametrize("vsn", VSNS)
def test_a_thousand_joins_on_one_socket_stop_at_the_channel_limit(vsn, settings):
    user = factories.UserFactory()
    settings.REALTIME_MAX_CHANNELS = 100

    async def scenario():
        client = await connected(user, vsn)
        statuses = []
        for index in range(1000):
            await client.send(str(index), str(index), f"realtime:t{index}", "phx_join",
                              {"config": {"postgres_changes": []}})
            statuses.append((await client.recv())[4]["status"])
        assert statuses == ["ok"] * 100 + ["error"] * 900
        # a rejoin of a joined topic is not a new channel
        await client.send("r", "r", "realtime:t5", "phx_join", {"config": {"postgres_changes": []}})
        assert (await client.recv())[4]["status"] == "ok"
        await client.send("2", "x", "realtime:t200", "phx_join", {"config": {"postgres_changes": []}})
        reply = (await client.recv())[4]
        assert reply == {"status": "error", "response": {"reason": "too many channels on this socket (at most 100)"}}
        await client.close()

    run(scenario)


@pytest.mark.parametrize("vsn", VSNS)
def test_too_many_bindings_in_one_join_are_refused(vsn):
    user = factories.UserFactory()

    async def scenario():
        client = await connected(user, vsn)
        await client.send("1", "1", "realtime:many", "phx_join",
                          {"config": {"postgres_changes": [agent_binding() for _ in range(101)]}})
        reply = await client.recv()
        assert reply[4]["status"] == "error" and "at most 100" in reply[4]["response"]["reason"]
        assert await client.nothing()  # no system frame: nothing was subscribed
        reply, system = await client.join("enough", [agent_binding() for _ in range(100)])
        assert reply[4]["status"] == "ok" and system[4]["status"] == "ok"
        await client.close()

    run(scenario)


@pytest.mark.parametrize("vsn", VSNS)
def test_injection_filters_get_system_errors_and_the_socket_stays_usable(vsn):
    user = user_with_agent()

    async def scenario():
        client = await connected(user, vsn)
        for index, text in enumerate(BAD_FILTERS):
            binding = {"event": "*", "schema": "public", "table": "agents", "filter": text}
            reply, system = await client.join(f"bad{index}", [binding])
            assert reply[4]["status"] == "ok", (text, reply)  # the join itself is answered
            assert system[3] == "system" and system[4]["status"] == "error", (text, system)
            assert system[4]["message"].startswith("Error parsing postgres_changes"), system
        for entry in [{"event": "*", "schema": "public", "table": "agents", "filter": {"$gt": ""}},
                      {"event": "*", "schema": "public", "table": "agents; DROP TABLE agents"},
                      {"event": "TRUNCATE", "schema": "public", "table": "agents"},
                      {"event": "*", "schema": "pg_catalog", "table": "pg_authid"}, "agents", 42, None]:
            reply, system = await client.join("odd", [entry])
            assert reply[4]["status"] == "ok" and system[4]["status"] == "error", (entry, system)
        for index, text in enumerate(LITERAL_FILTERS):
            binding = {"event": "*", "schema": "public", "table": "agents", "filter": text}
            reply, system = await client.join(f"literal{index}", [binding])
            assert system[4]["status"] == "ok", (text, system)
        # the socket still delivers changes on a good channel
        reply, system = await client.join("good", [agent_binding(user.pk)])
        assert system[4]["status"] == "ok"
        agent = await db(lambda: Agent.objects.get(created_by=user))
        await db(agent_set_status, agent=agent, status="active", actor=user)
        change = await client.change()
        assert change[2] == "realtime:good" and change[4]["data"]["record"]["status"] == "active"
        assert await client.pushed() == []  # and only there: no literal filter matched
        await client.close()

    run(scenario)


# --- a live daphne ------------------------------------------------------------------------------
def live_unreadable(vsn: str) -> list[str]:
    """The unreadable frames a client library can send (a text frame must be valid UTF-8)."""
    return [text for text in UNREADABLE["common"] + UNREADABLE[vsn] if "\ud800" not in text]


async def abuse_round(url: str, vsn: str) -> dict:
    """One round of every abuse above against a live server; returns what each got."""
    outcomes = {"closed": 0, "errors": 0}
    # 1 MB (10^6 bytes) is under daphne's own 1 MiB message limit: the application's limit closes it.
    for text in live_unreadable(vsn) + [frame(vsn, "1", "1", "realtime:a", "phx_join", {"junk": "x" * 1_000_000})]:
        async with connect(url, max_size=None) as ws:
            await ws.send(text)
            try:
                await asyncio.wait_for(ws.recv(), 5)
                pytest.fail(f"no close after {text[:60]!r}")
            except ConnectionClosed as closed:
                assert closed.rcvd is not None and closed.rcvd.code in (CLOSE_UNREADABLE_FRAME, CLOSE_FRAME_TOO_BIG), (text[:60], closed)
                outcomes["closed"] += 1
    # Over 1 MiB daphne itself (websocket_max_message_size) drops the connection, possibly
    # while the frame is still being sent.
    try:
        async with connect(url, max_size=None) as ws:
            await ws.send(frame(vsn, "1", "1", "realtime:a", "phx_join", {"junk": "x" * (2 * MB)}))
            await asyncio.wait_for(ws.recv(), 5)
            pytest.fail("a 2 MiB frame was answered")
    except (ConnectionClosed, OSError):
        outcomes["dropped"] = 1
    async with connect(url, max_size=None) as ws:
        for index in range(1000):  # 1,000 joins on one socket
            await ws.send(frame(vsn, str(index), str(index), f"realtime:t{index}", "phx_join",
                                {"config": {"postgres_changes": [
                                    {"event": "*", "schema": "public", "table": "agents",
                                     "filter": BAD_FILTERS[index % len(BAD_FILTERS)]}]}}))
        got = 0
        while got < 1000:
            data = json.loads(await asyncio.wait_for(ws.recv(), 10))
            event = data[3] if vsn == "2.0.0" else data["event"]
            payload = data[4] if vsn == "2.0.0" else data["payload"]
            if event == "phx_reply":
                got += 1
                outcomes["errors"] += payload["status"] == "error"
    return outcomes


@pytest.mark.parametrize("vsn", VSNS)
def test_live_server_survives_abuse_keeps_serving_and_memory_is_bounded(vsn, daphne_server):
    owner = factories.UserFactory()
    agent = factories.AgentFactory(created_by=owner)
    host, port = daphne_server()
    process = server_process(port)
    url = f"ws://{host}:{port}/realtime/v1/websocket?apikey={token_for(owner)}&vsn={vsn}"

    async def scenario():
        async with connect(url) as good:
            await good.send(frame(vsn, "1", "1", "realtime:good", "phx_join",
                                  {"config": {"postgres_changes": [agent_binding(owner.pk)]}}))
            await asyncio.wait_for(good.recv(), 5)
            await asyncio.wait_for(good.recv(), 5)
            warm = await abuse_round(url, vsn)  # warm-up: allocator arenas, caches, code paths
            before = process.memory_info().rss
            rounds = [await abuse_round(url, vsn) for _ in range(3)]
            after = process.memory_info().rss
            for outcome in [warm, *rounds]:
                assert outcome["closed"] == len(live_unreadable(vsn)) + 1, outcome
                assert outcome["errors"] >= 900, outcome  # over the channel limit, or a bad filter
                assert outcome["dropped"] == 1, outcome
            # the well-behaved socket opened before the abuse still receives changes
            await db(agent_set_status, agent=agent, status="active", actor=owner)
            change = json.loads(await asyncio.wait_for(good.recv(), 10))
            data = change[4]["data"] if vsn == "2.0.0" else change["payload"]["data"]
            assert data["record"]["id"] == str(agent.pk) and data["record"]["status"] == "active"
            return before, after

    before, after = run(scenario)
    growth = after - before
    print(f"daphne RSS {vsn}: {before / MB:.1f} MiB -> {after / MB:.1f} MiB ({growth / MB:+.1f} MiB over 3 rounds)")
    assert growth < RSS_GROWTH_BOUND, f"RSS grew {growth / MB:.1f} MiB over 3 abuse rounds"
