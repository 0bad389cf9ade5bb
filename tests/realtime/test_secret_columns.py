"""Issue 12, point 1, as the attack was run: a team viewer subscribed to `workflows` on a live
daphne read `record.webhook_secret` from the change of the owner's PATCH and of a callback's
counter update, then signed callbacks with it. Now `WorkflowPolicy.columns` declares the secret
`never`, so it enters no change record (echelon.columns, realtime.changes)."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest
from websockets.asyncio.client import connect

from accounts.models import Role
from echelon.auth.tokens import access_token_for
from tests import factories
from tests.realtime.helpers import run, token_for
from workflows.services.hooks import sign


async def _subscribe(host, port, user, table):
    ws = await connect(f"ws://{host}:{port}/realtime/v1/websocket?apikey={token_for(user)}&vsn=2.0.0")
    binding = {"event": "*", "schema": "public", "table": table}
    await ws.send(json.dumps(["1", "1", "realtime:attack", "phx_join", {"config": {"postgres_changes": [binding]}}]))
    for _ in range(2):  # the join reply, then "Subscribed to PostgreSQL"
        frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert frame[4].get("status") == "ok", frame
    return ws


async def _frames(ws, quiet=1.0) -> list[str]:
    texts = []
    while True:
        try:
            texts.append(await asyncio.wait_for(ws.recv(), quiet))
        except TimeoutError:
            return texts


@pytest.mark.django_db(transaction=True)
def test_team_viewer_never_receives_the_webhook_secret_live(daphne_server, settings):
    owner, viewer = factories.UserFactory(), factories.UserFactory()
    team = factories.TeamFactory(created_by=owner)
    factories.UserRoleFactory(user=owner, team=team, role=Role.ADMIN)
    factories.UserRoleFactory(user=viewer, team=team, role=Role.VIEWER)
    agent = factories.AgentFactory(created_by=owner, team=team, status="active")
    secret = "s3cret-" + "x" * 40
    workflow = factories.WorkflowFactory(agent=agent, n8n_workflow_id="attackWf0001", webhook_secret=secret)
    host, port = daphne_server()
    base = f"http://{host}:{port}"
    owner_token = access_token_for(owner)

    async def scenario():
        ws = await _subscribe(host, port, viewer, "workflows")
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            patched = await http.patch(f"/api/v1/workflows/{workflow.pk}/", json={"description": "patched"},
                                       headers={"Authorization": f"Bearer {owner_token}"})
            assert patched.status_code == 200, patched.text
            body = json.dumps({"event": "execution.finished", "status": "success", "n8n_execution_id": "77",
                               "n8n_workflow_id": "attackWf0001", "ts": int(time.time()), "output": {}}).encode()
            hook = await http.post("/api/v1/hooks/n8n/", content=body, headers={
                "Content-Type": "application/json", "X-Echelon-Workflow": "attackWf0001",
                "X-Echelon-Signature": sign(body, secret)})
            assert hook.status_code == 201, hook.text
        texts = await _frames(ws)
        await ws.close()
        return texts

    texts = run(scenario)
    updates = [json.loads(t)[4]["data"] for t in texts if '"postgres_changes"' in t]
    assert [d["type"] for d in updates] == ["UPDATE", "UPDATE"], texts  # the PATCH, the counters
    assert updates[0]["record"]["description"] == "patched"
    assert updates[1]["record"]["execution_count"] == 1
    for text in texts:
        assert secret not in text and "webhook_secret" not in text


@pytest.mark.django_db(transaction=True)
def test_a_filter_on_a_never_shown_column_is_refused():
    """Matching `webhook_secret=eq.<guess>` would be an oracle even without the value in the record."""
    from tests.realtime.helpers import Client

    user = factories.UserFactory()

    async def scenario():
        client = Client(token_for(user))
        assert (await client.connect())[0]
        _, system = await client.join("guess", [{"event": "*", "schema": "public", "table": "workflows",
                                                 "filter": "webhook_secret=eq.guess"}])
        await client.close()
        return system

    system = run(scenario)
    assert system[4]["status"] == "error" and "unknown column 'webhook_secret'" in system[4]["message"]
