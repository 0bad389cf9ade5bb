"""Broadcast on realtime channels (issue 15, step 3): pushes in JSON (both vsn) and binary
(kind 3) frames, delivered to the channel's other members as each client reads them (vsn 2.0.0:
binary kind 4; vsn 1.0.0: JSON), `self` and `ack`, private topics through the topic policy, the
HTTP endpoint and the server's `broadcast` service (after commit). Every test also asserts who
did NOT receive: the sender (without `self`), other topics, the public channel of a private
topic's name, anonymous sockets, users the topic policy refuses."""

from __future__ import annotations

import base64
import json

import pytest
from django.db import transaction

from echelon.auth.tokens import anon_key
from realtime.services import broadcast
from tests import factories
from tests.realtime.helpers import Client, db, run, token_for
from tests.supabase.clients import supabase_client

pytestmark = pytest.mark.django_db(transaction=True)


def binary_push(join_ref: str, ref: str, topic: str, event: str, payload: bytes, encoding: int) -> bytes:
    """A kind-3 push as realtime-js' serializer builds it (lib/serializer.ts)."""
    fields = [join_ref.encode(), ref.encode(), topic.encode(), event.encode(), b""]
    return bytes((3, *(len(f) for f in fields), encoding)) + b"".join(fields) + payload


async def member(user, name="room:1", vsn="2.0.0", **config) -> Client:
    client = Client(token_for(user) if user is not None else anon_key(), vsn)
    await client.connect()
    reply, _ = await client.join(name, [], **config)
    assert reply[4]["status"] == "ok", reply
    return client


async def send(client: Client, name: str, event: str, payload) -> str:
    ref = client.next_ref()
    await client.send(client.join_ref, ref, f"realtime:{name}", "broadcast",
                      {"type": "broadcast", "event": event, "payload": payload})
    return ref


def people(team_agent):
    return team_agent["owner"], team_agent["viewer"], team_agent["outsider"], f"agent:{team_agent['agent'].pk}"


def payloads(frames) -> list:
    """(how, event, payload) of each broadcast frame: binary kind 4 or JSON."""
    out = []
    for frame in frames:
        if frame[0] == "binary":
            out.append(("binary", frame[2], frame[4]))
        elif frame[3] == "broadcast":
            out.append(("json", frame[4]["event"], frame[4]["payload"]))
    return out


def test_a_json_broadcast_reaches_the_other_members_in_their_format_and_nobody_else():
    alice, bob, carol, dave = (factories.UserFactory() for _ in range(4))

    async def scenario():
        sender = await member(alice)
        binary_reader = await member(bob)  # vsn 2.0.0: kind 4
        json_reader = await member(carol, vsn="1.0.0")
        elsewhere = await member(dave, name="room:2")
        anonymous = await member(None)
        await send(sender, "room:1", "cursor", {"x": 1})
        await send(json_reader, "room:1", "typed", {"text": "hi"})
        assert payloads(await binary_reader.broadcast_frames()) == [
            ("binary", "cursor", {"x": 1}), ("binary", "typed", {"text": "hi"})]
        assert payloads(await json_reader.broadcast_frames()) == [("json", "cursor", {"x": 1})]
        assert payloads(await sender.broadcast_frames()) == [("binary", "typed", {"text": "hi"})]
        assert await elsewhere.broadcast_frames() == []
        assert await anonymous.broadcast_frames() == []
        for client in (sender, binary_reader, json_reader, elsewhere, anonymous):
            await client.close()

    run(scenario)


def test_binary_pushes_self_and_ack():
    alice, bob = factories.UserFactory(), factories.UserFactory()

    async def scenario():
        sender = await member(alice, broadcast={"self": True, "ack": True})
        reader = await member(bob)
        old = await member(bob, vsn="1.0.0")
        ref = sender.next_ref()
        raw = bytes(range(256))
        await sender.send_raw({"type": "websocket.receive",
                               "bytes": binary_push(sender.join_ref, ref, "realtime:room:1", "blob", raw, 0)})
        ref2 = sender.next_ref()
        await sender.send_raw({"type": "websocket.receive", "bytes": binary_push(
            sender.join_ref, ref2, "realtime:room:1", "doc", json.dumps({"a": [1, 2]}).encode(), 1)})
        frames = await sender.broadcast_frames()
        acks = [f for f in frames if f[0] != "binary" and f[3] == "phx_reply"]
        assert [(f[1], f[4]) for f in acks] == [(ref, {"status": "ok", "response": {}}),
                                                 (ref2, {"status": "ok", "response": {}})]
        assert payloads(frames) == [("binary", "blob", raw), ("binary", "doc", {"a": [1, 2]})]  # self
        assert payloads(await reader.broadcast_frames()) == [("binary", "blob", raw), ("binary", "doc", {"a": [1, 2]})]
        assert payloads(await old.broadcast_frames()) == [("json", "blob", base64.b64encode(raw).decode()),
                                                          ("json", "doc", {"a": [1, 2]})]
        for client in (sender, reader, old):
            await client.close()

    run(scenario)


def test_private_topics_send_by_the_topic_policy_and_stay_apart_from_the_public_channel(team_agent):
    owner, viewer, outsider, name = people(team_agent)

    async def scenario():
        writer = await member(owner, name=name, private=True)
        reader = await member(viewer, name=name, private=True)
        public = await member(outsider, name=name)  # the same name, public: another channel
        await send(writer, name, "selected", {"node": 7})
        refused = await send(reader, name, "selected", {"node": 8})  # a viewer reads, does not send
        await send(public, name, "noise", {})
        reader_frames = await reader.broadcast_frames()
        assert payloads(reader_frames) == [("binary", "selected", {"node": 7})]
        errors = [f for f in reader_frames if f[0] != "binary" and f[3] == "phx_reply"]
        assert [(f[1], f[4]["status"], f[4]["response"]["reason"]) for f in errors] == [
            (refused, "error", f"Unauthorized: You do not have permissions to write to this Channel topic: {name}")]
        assert payloads(await writer.broadcast_frames()) == []  # not the public "noise", not its own
        assert payloads(await public.broadcast_frames()) == []  # never the private channel's
        for client in (writer, reader, public):
            await client.close()

    run(scenario)


def test_the_http_endpoint_sends_as_its_user_may(team_agent):
    owner, viewer, outsider, name = people(team_agent)

    async def scenario():
        reader = await member(viewer, name=name, private=True)
        room = await member(outsider, name="room:1")
        body = {"messages": [{"topic": name, "event": "from-http", "payload": {"n": 1}, "private": True}]}
        answer = await db(supabase_client(owner).post, "/realtime/v1/api/broadcast", body, format="json")
        assert answer.status_code == 202, answer.content
        refused = await db(supabase_client(outsider).post, "/realtime/v1/api/broadcast",
                           {"messages": [{**body["messages"][0], "payload": {"n": 2}}]}, format="json")
        assert refused.status_code == 403 and refused.json()["error"].startswith("Unauthorized:")
        anonymous = await db(supabase_client().post, "/realtime/v1/api/broadcast", body, format="json")
        assert anonymous.status_code == 401
        bad = await db(supabase_client(owner).post, "/realtime/v1/api/broadcast", {"messages": [{"topic": 1}]},
                       format="json")
        assert bad.status_code == 400
        huge = await db(supabase_client(owner).post, "/realtime/v1/api/broadcast",
                        {"messages": [{"topic": name, "event": "big", "payload": "x" * 300_000, "private": True}]},
                        format="json")
        assert huge.status_code == 413
        one = await db(supabase_client(outsider).post, "/realtime/v1/api/broadcast/room:1/events/ping",
                       {"p": True}, format="json")
        assert one.status_code == 202
        assert payloads(await reader.broadcast_frames()) == [("binary", "from-http", {"n": 1})]
        assert payloads(await room.broadcast_frames()) == [("binary", "ping", {"p": True})]
        for client in (reader, room):
            await client.close()

    run(scenario)


def test_the_broadcast_service_sends_after_commit_and_never_after_a_rollback(team_agent):
    owner, viewer, outsider, name = people(team_agent)

    def rolled_back():
        with transaction.atomic():
            broadcast(topic=name, event="never", payload={})
            transaction.set_rollback(True)

    def committed():
        with transaction.atomic():
            broadcast(topic=name, event="status", payload={"status": "active"})

    async def scenario():
        reader = await member(viewer, name=name, private=True)
        public = await member(outsider, name=name)
        await db(rolled_back)
        await db(committed)
        assert payloads(await reader.broadcast_frames()) == [("binary", "status", {"status": "active"})]
        assert payloads(await public.broadcast_frames()) == []
        for client in (reader, public):
            await client.close()

    run(scenario)
