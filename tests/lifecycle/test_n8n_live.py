"""Opt-in end-to-end tests against a real n8n (marker `n8n_live`; run with N8N_LIVE=1, see README).

Needs N8N_BASE_URL and N8N_API_KEY in the environment. Creates a throw-away workflow from
the recorded wf1.json (with a unique webhook path), deploys and stops it through Echelon, and
syncs; the workflow is deleted at the end.
"""

from __future__ import annotations

import os
import uuid

import httpx
import pytest

from tests.factories import AgentFactory, WorkflowFactory
from tests.lifecycle.fake_n8n import recording
from workflows.n8n.client import N8nClient, N8nNotFound
from workflows.services import agent_deploy, deployment_stop
from workflows.services.sync import n8n_sync

pytestmark = [pytest.mark.n8n_live, pytest.mark.django_db]


@pytest.fixture
def live(settings):
    base, key = os.environ.get("N8N_BASE_URL", ""), os.environ.get("N8N_API_KEY", "")
    assert base and key, "N8N_LIVE=1 needs N8N_BASE_URL and N8N_API_KEY of a running n8n (see README)"
    settings.N8N_BASE_URL, settings.N8N_API_KEY = base, key
    definition = recording("wf1.json")
    definition["name"] = f"echelon-live-{uuid.uuid4().hex[:8]}"
    for node in definition["nodes"]:
        if node["type"] == "n8n-nodes-base.webhook":
            node["parameters"]["path"] = definition["name"]
            node["webhookId"] = str(uuid.uuid4())
    api = httpx.Client(base_url=f"{base.rstrip('/')}/api/v1", headers={"X-N8N-API-KEY": key}, timeout=10)
    created = api.post("/workflows", json=definition)
    assert created.status_code == 200, created.text
    workflow_id = created.json()["id"]
    yield workflow_id
    api.delete(f"/workflows/{workflow_id}")
    api.close()


def test_deploy_stop_and_sync_against_real_n8n(live):
    agent = AgentFactory()
    WorkflowFactory(agent=agent, n8n_workflow_id=live)
    deployment = agent_deploy(agent=agent)
    assert deployment.status == "deployed", deployment.error_message
    with N8nClient.from_settings() as client:
        assert client.get_workflow(live)["active"] is True
        report = n8n_sync(client=client)
        assert report.errors == []
        with pytest.raises(N8nNotFound):
            client.get_execution("999999999")
    deployment_stop(deployment=deployment)
    with N8nClient.from_settings() as client:
        assert client.get_workflow(live)["active"] is False


def test_real_n8n_rejects_a_wrong_key(live):
    from workflows.n8n.client import N8nUnauthorized

    with N8nClient(os.environ["N8N_BASE_URL"], "wrong-key") as client, pytest.raises(N8nUnauthorized):
        client.list_executions(limit=1)
