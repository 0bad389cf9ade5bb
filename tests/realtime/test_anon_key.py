"""The anon key at the realtime socket, as supabase-js sends it (docs/supabase.md).

The socket URL carries `apikey=<anon key>`; before sign-in the join carries the anon key too,
after sign-in the user's access token (supabase-js hands it to realtime itself). The anon key
identifies the project, not a user: such a socket joins but receives nothing (the policies give
anonymous users no rows, not even public templates, which are for signed-in users); a user's
token in a join or an `access_token` message makes the socket that user's, the anon key again
makes it anonymous. Any other key is still refused at the upgrade.
"""

from __future__ import annotations

import pytest

from agents.services import agent_set_status
from echelon.auth.tokens import anon_key
from tests import factories
from tests.realtime.helpers import Client, agent_binding, db, run, token_for

pytestmark = pytest.mark.django_db(transaction=True)

TEMPLATES = {"event": "*", "schema": "public", "table": "agent_templates"}


async def handled(client):
    """Frames are handled in order: once the heartbeat is answered, the frames before it were."""
    ref = client.next_ref()
    await client.send(None, ref, "phoenix", "heartbeat", {})
    reply = await client.recv()
    assert reply[1] == ref and reply[3] == "phx_reply", reply


def test_an_anonymous_socket_joins_and_receives_nothing():
    owner = factories.UserFactory()

    async def scenario():
        client = Client(anon_key())
        assert (await client.connect())[0]
        reply, system = await client.join("anon", [agent_binding(), TEMPLATES], access_token=anon_key())
        assert reply[4]["status"] == "ok" and system[4]["status"] == "ok"
        agent = await db(factories.AgentFactory, created_by=owner)
        await db(agent_set_status, agent=agent, status="active", actor=owner)
        await db(factories.AgentTemplateFactory, created_by=owner, is_public=True)  # "everyone" = signed in
        assert await client.pushed() == []
        await client.close()

    run(scenario)


def test_a_users_token_in_the_join_makes_the_socket_the_users_and_the_anon_key_anonymous_again():
    owner = factories.UserFactory()

    async def scenario():
        client = Client(anon_key())
        assert (await client.connect())[0]
        reply, system = await client.join("mine", [agent_binding(owner.pk)], access_token=token_for(owner))
        assert reply[4]["status"] == "ok" and system[4]["status"] == "ok"
        agent = await db(factories.AgentFactory, created_by=owner)
        frame = await client.change()
        assert frame[4]["data"]["record"]["id"] == str(agent.pk)
        # signed out: supabase-js hands realtime the anon key again
        await client.send(client.join_ref, client.next_ref(), "realtime:mine", "access_token",
                          {"access_token": anon_key()})
        await handled(client)  # accepted: no error, no close, before the heartbeat's reply
        await db(agent_set_status, agent=agent, status="paused", actor=owner)
        assert await client.pushed() == []
        # signed in again, by an access_token message
        await client.send(client.join_ref, client.next_ref(), "realtime:mine", "access_token",
                          {"access_token": token_for(owner)})
        await handled(client)
        await db(agent_set_status, agent=agent, status="active", actor=owner)
        frame = await client.change()
        assert frame[4]["data"]["record"]["status"] == "active"
        await client.close()

    run(scenario)


def test_only_this_projects_anon_key_opens_a_socket(settings):
    async def scenario():
        forged = Client(anon_key().rsplit(".", 1)[0] + ".forged")
        assert not (await forged.connect())[0]

    run(scenario)
