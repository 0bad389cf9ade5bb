"""Private realtime channels (`config.private: true`) and the topic policy (issue 15, step 2).

`agent:<id>`: the agent's readers join, its writers send; `team:<id>`: the team's members;
`user:<id>`: that user; any other private topic: nobody. A denied join is an error reply
`Unauthorized: …` on that channel, the socket goes on. A lost membership closes the private
channels it allowed (system error then phx_close)."""

from __future__ import annotations

import pytest

from accounts.models import UserRole
from echelon.auth.tokens import anon_key
from realtime.services import authorize_topic
from tests.realtime.helpers import Client, db, run, token_for

pytestmark = pytest.mark.django_db(transaction=True)


async def private_join(client: Client, name: str):
    reply, _ = await client.join(name, [], private=True)
    return reply[4]


async def still_serves(client: Client) -> bool:
    ref = client.next_ref()
    await client.send(None, ref, "phoenix", "heartbeat", {})
    frame = await client.recv()
    return frame[1] == ref and frame[4]["status"] == "ok"


def test_who_may_join_and_send_each_private_topic(team_agent):
    owner, viewer, outsider = team_agent["owner"], team_agent["viewer"], team_agent["outsider"]
    agent, team = f"agent:{team_agent['agent'].pk}", f"team:{team_agent['team'].pk}"
    table = {
        (owner, agent): (True, True), (viewer, agent): (True, False), (outsider, agent): (False, False),
        (owner, team): (True, True), (viewer, team): (True, True), (outsider, team): (False, False),
        (owner, f"user:{owner.pk}"): (True, True), (viewer, f"user:{owner.pk}"): (False, False),
        (owner, "agent:not-a-uuid"): (False, False), (owner, "room:lobby"): (False, False),
        (owner, "agent"): (False, False), (None, agent): (False, False),
    }
    for (user, topic), expected in table.items():
        assert authorize_topic(None if user is None else str(user.pk), topic) == expected, (user, topic)


@pytest.mark.parametrize("vsn", ["1.0.0", "2.0.0"])
def test_a_denied_private_join_is_an_unauthorized_reply_and_the_socket_goes_on(team_agent, vsn):
    agent = team_agent["agent"]

    async def scenario():
        outsider = Client(token_for(team_agent["outsider"]), vsn)
        await outsider.connect()
        for name in (f"agent:{agent.pk}", "room:lobby", "agent:not-a-uuid"):
            reply = await private_join(outsider, name)
            assert reply["status"] == "error", name
            assert reply["response"]["reason"] == \
                f"Unauthorized: You do not have permissions to read from this Channel topic: {name}"
        assert await still_serves(outsider)
        ok, _ = await outsider.join("room:lobby", [])  # a public channel: any signed-in user
        assert ok[4]["status"] == "ok"
        anonymous = Client(anon_key(), vsn)
        await anonymous.connect()
        assert (await private_join(anonymous, f"agent:{agent.pk}"))["status"] == "error"
        viewer = Client(token_for(team_agent["viewer"]), vsn)
        await viewer.connect()
        assert (await private_join(viewer, f"agent:{agent.pk}"))["status"] == "ok"
        for client in (outsider, anonymous, viewer):
            await client.close()

    run(scenario)


def test_a_lost_membership_closes_the_private_channels_it_allowed(team_agent):
    viewer, agent, team = team_agent["viewer"], team_agent["agent"], team_agent["team"]

    async def scenario():
        client = Client(token_for(viewer))
        await client.connect()
        assert (await private_join(client, f"agent:{agent.pk}"))["status"] == "ok"
        assert (await private_join(client, f"user:{viewer.pk}"))["status"] == "ok"
        await db(UserRole.objects.filter(user=viewer, team=team).delete)
        frames = await client.pushed()
        topic = f"realtime:agent:{agent.pk}"
        assert [(f[2], f[3]) for f in frames] == [(topic, "system"), (topic, "phx_close")], frames
        assert frames[0][4]["status"] == "error" and frames[0][4]["message"].startswith("Unauthorized:")
        assert await still_serves(client)  # and user:<id> stays joined: nothing closed it
        await client.close()

    run(scenario)


def test_another_users_token_closes_the_private_channels_the_new_user_may_not_join(team_agent):
    owner, outsider, agent = team_agent["owner"], team_agent["outsider"], team_agent["agent"]

    async def scenario():
        client = Client(token_for(owner))
        await client.connect()
        assert (await private_join(client, f"agent:{agent.pk}"))["status"] == "ok"
        ok, _ = await client.join("room:lobby", [])
        await client.send(client.join_ref, client.next_ref(), "realtime:room:lobby", "access_token",
                          {"access_token": token_for(outsider)})
        # the re-check of the new token runs in a thread: wait for its two frames (a loaded machine
        # outlasted pushed()'s 10 ms look), then nothing more may follow
        frames = [await client.recv(timeout=30), await client.recv(timeout=30)]
        frames += await client.pushed()
        topic = f"realtime:agent:{agent.pk}"
        assert [(f[2], f[3]) for f in frames] == [(topic, "system"), (topic, "phx_close")], frames
        await client.close()

    run(scenario)
