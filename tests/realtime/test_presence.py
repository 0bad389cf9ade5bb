"""Presence on realtime channels (issue 15, step 4): `presence_state` after a join, `presence_diff`
on track / re-track / untrack / leave / socket close / a revoked private channel, keys from
`config.presence.key`. Who did NOT get a diff: other topics, the public channel of a private
topic's name, anonymous sockets, channels without presence."""

from __future__ import annotations

import pytest

from accounts.models import UserRole
from echelon.auth.tokens import anon_key
from tests import factories
from tests.realtime.helpers import Client, db, run, token_for

pytestmark = pytest.mark.django_db(transaction=True)


async def member(user, name="room:1", key="", vsn="2.0.0", private=False, enabled=True) -> Client:
    client = Client(token_for(user) if user is not None else anon_key(), vsn)
    await client.connect()
    reply, _ = await client.join(name, [], private=private, presence={"key": key, "enabled": enabled})
    assert reply[4]["status"] == "ok", reply
    client.topic = f"realtime:{name}"
    return client


async def presence(client: Client, event: str, payload=None):
    ref = client.next_ref()
    await client.send(client.join_ref, ref, client.topic, "presence",
                      {"type": "presence", "event": event, "payload": payload})
    return ref


def events(frames) -> list:
    """presence_state / presence_diff frames as (event, payload) with the phx_refs taken out."""
    def strip(state):
        return {key: [{k: v for k, v in meta.items() if not k.startswith("phx_ref")} for meta in value["metas"]]
                for key, value in state.items()}
    out = []
    for frame in frames:
        if frame[3] == "presence_state":
            out.append(("state", strip(frame[4])))
        elif frame[3] == "presence_diff":
            out.append(("diff", strip(frame[4]["joins"]), strip(frame[4]["leaves"])))
    return out


def replies(frames) -> list:
    return [(f[1], f[4]["status"]) for f in frames if f[3] == "phx_reply"]


@pytest.mark.parametrize("vsn", ["1.0.0", "2.0.0"])
def test_state_after_join_and_diffs_on_track_retrack_untrack_and_close(vsn):
    alice, bob, carol = factories.UserFactory(), factories.UserFactory(), factories.UserFactory()

    async def scenario():
        a = await member(alice, key="alice", vsn=vsn)
        elsewhere = await member(carol, name="room:2")
        quiet = await member(carol, enabled=False)
        anonymous = await member(None)
        tracked = await presence(a, "track", {"status": "online"})
        assert events(await a.broadcast_frames()) == [("state", {}), ("diff", {"alice": [{"status": "online"}]}, {})]
        b = await member(bob, key="bob")
        assert events(await b.broadcast_frames()) == [("state", {"alice": [{"status": "online"}]})]
        await presence(b, "track", {"status": "here"})
        await presence(a, "track", {"status": "away"})
        await presence(b, "untrack")
        expected = [("diff", {"bob": [{"status": "here"}]}, {}),
                    ("diff", {"alice": [{"status": "away"}]}, {"alice": [{"status": "online"}]}),
                    ("diff", {}, {"bob": [{"status": "here"}]})]
        a_frames = await a.broadcast_frames()
        assert events(a_frames) == expected
        assert events(await b.broadcast_frames()) == expected
        await a.close()
        assert events(await b.broadcast_frames()) == [("diff", {}, {"alice": [{"status": "away"}]})]
        refused = await presence(anonymous, "track", {"status": "sneaky"})
        anonymous_frames = await anonymous.broadcast_frames()
        assert replies(anonymous_frames) == [(refused, "error")] and events(anonymous_frames) == []
        assert events(await elsewhere.broadcast_frames()) == [("state", {})]  # nothing of room:1
        assert events(await quiet.broadcast_frames()) == []
        assert tracked
        for client in (b, elsewhere, quiet, anonymous):
            await client.close()

    run(scenario)


def test_private_presence_reaches_members_only_and_a_revoked_member_leaves(team_agent):
    owner, viewer, outsider = team_agent["owner"], team_agent["viewer"], team_agent["outsider"]
    name = f"agent:{team_agent['agent'].pk}"

    async def scenario():
        o = await member(owner, name=name, key="owner", private=True)
        v = await member(viewer, name=name, key="viewer", private=True)
        public = await member(outsider, name=name, key="outsider")
        await presence(v, "track", {"page": "agent"})
        await presence(public, "track", {"page": "fake"})
        assert events(await o.broadcast_frames()) == [("state", {}), ("diff", {"viewer": [{"page": "agent"}]}, {})]
        assert events(await public.broadcast_frames()) == [("state", {}), ("diff", {"outsider": [{"page": "fake"}]}, {})]
        await db(UserRole.objects.filter(user=viewer, team=team_agent["team"]).delete)
        assert events(await o.broadcast_frames()) == [("diff", {}, {"viewer": [{"page": "agent"}]})]
        assert events(await public.broadcast_frames()) == []
        for client in (o, v, public):
            await client.close()

    run(scenario)
