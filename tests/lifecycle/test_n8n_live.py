"""Opt-in end-to-end tests against a real n8n (marker `n8n_live`; run with N8N_LIVE=1, see docs/n8n.md).

Needs N8N_BASE_URL and N8N_API_KEY (with workflow and credential scopes) of a running n8n
2.41.1. Creates throw-away workflows from the recorded definitions (unique webhook paths),
deploys and stops them through Echelon, lets n8n call Echelon's signed callback on a live
server, syncs, and checks the behaviours the fake reproduces. Everything created is deleted
(the DELETE right after an unpublish is a 409 "still being unpublished" on 2.41.1: the client
retries it), and the fixture checks that n8n holds none of the test's workflows afterwards.

The split-brain case (issue 18) also needs N8N_PID, the n8n process to freeze with SIGSTOP.
"""

from __future__ import annotations

import json
import os
import signal
import time
import uuid
from datetime import timedelta

import httpx
import pytest

from tests.factories import AgentFactory, WorkflowFactory
from tests.lifecycle.fake_n8n import NO_TRIGGER, WEBHOOK_CONFLICT, recording
from workflows.models import Deployment, Workflow, WorkflowExecution
from workflows.n8n.client import N8nBadRequest, N8nClient, N8nConflict, N8nNotFound, N8nUnauthorized
from workflows.services import agent_deploy, deployment_stop
from workflows.services.deployments import deployment_request
from workflows.services.n8n_pass import n8n_pass
from workflows.services.sync import n8n_sync

pytestmark = [pytest.mark.n8n_live]


@pytest.fixture
def n8n(settings):
    """An httpx client on the real n8n's public API; deletes what the test created."""
    base, key = os.environ.get("N8N_BASE_URL", ""), os.environ.get("N8N_API_KEY", "")
    assert base and key, "N8N_LIVE=1 needs N8N_BASE_URL and N8N_API_KEY of a running n8n (see docs/n8n.md)"
    settings.N8N_BASE_URL, settings.N8N_API_KEY = base, key
    api = httpx.Client(base_url=f"{base.rstrip('/')}/api/v1", headers={"X-N8N-API-KEY": key}, timeout=10)
    api.created = []

    def create(kind, body):
        response = api.post(f"/{kind}", json=body)
        assert response.status_code == 200, response.text
        api.created.append((kind, response.json()["id"]))
        return response.json()["id"]

    api.create = create
    yield api
    with N8nClient(base, key) as client:
        for kind, ident in reversed(api.created):
            if kind == "workflows":
                try:
                    client.unpublish_workflow(ident)
                except N8nNotFound:
                    pass
                client.delete_workflow(ident)  # retries n8n's 409 "still being unpublished"
            else:
                api.delete(f"/{kind}/{ident}")
    left = {w["id"] for w in api.get("/workflows", params={"limit": 250}).json()["data"]}
    api.close()
    assert not left & {ident for kind, ident in api.created if kind == "workflows"}, "the test left workflows in n8n"


def unique(definition: dict, callback_url: str | None = None) -> dict:
    definition = json.loads(json.dumps(definition))
    definition["name"] = f"echelon-live-{uuid.uuid4().hex[:8]}"
    for node in definition["nodes"]:
        if node["type"] == "n8n-nodes-base.webhook":
            node["parameters"]["path"] = definition["name"]
            node["webhookId"] = str(uuid.uuid4())
        if callback_url and node["type"] == "n8n-nodes-base.httpRequest":
            node["parameters"]["url"] = callback_url
    return definition


@pytest.mark.django_db
def test_deploy_stop_and_the_publish_errors(n8n):
    wf_id = n8n.create("workflows", unique(recording("wf1.json")))
    agent = AgentFactory()
    WorkflowFactory(agent=agent, n8n_workflow_id=wf_id)
    deployment = agent_deploy(agent=agent)
    assert deployment.status == "deployed", deployment.error_message
    with N8nClient.from_settings() as client:
        assert client.get_workflow(wf_id)["active"] is True
        twin = unique(recording("wf1.json"))
        twin["nodes"][0]["parameters"]["path"] = client.get_workflow(wf_id)["nodes"][0]["parameters"]["path"]
        with pytest.raises(N8nConflict, match=WEBHOOK_CONFLICT):
            client.publish_workflow(n8n.create("workflows", twin))
        manual = n8n.create("workflows", {"name": "echelon-live-manual", "settings": {}, "connections": {}, "nodes": [
            {"id": "m", "name": "Manual", "type": "n8n-nodes-base.manualTrigger", "typeVersion": 1,
             "position": [0, 0], "parameters": {}}]})
        with pytest.raises(N8nBadRequest) as caught:
            client.publish_workflow(manual)
        assert caught.value.message == NO_TRIGGER
        with pytest.raises(N8nNotFound):
            client.publish_workflow("no-such-workflow")
        with pytest.raises(N8nBadRequest, match="An invalid cursor was provided"):
            client.list_executions(cursor="zzz")
    deployment_stop(deployment=deployment)
    with N8nClient.from_settings() as client:
        assert client.get_workflow(wf_id)["active"] is False


def test_wrong_key_is_401(n8n):
    with N8nClient(os.environ["N8N_BASE_URL"], "wrong-key") as client, pytest.raises(N8nUnauthorized):
        client.list_executions(limit=1)


@pytest.mark.django_db(transaction=True)
def test_n8n_signs_its_callback_and_the_sync_agrees(n8n, live_server):
    agent = AgentFactory()
    workflow = WorkflowFactory(agent=agent, n8n_workflow_id=None)  # its own generated secret
    credential = n8n.create("credentials", {"name": "echelon-live-hmac", "type": "crypto",
                                            "data": {"hmacSecret": workflow.webhook_secret}})
    definition = unique(recording("wf-hmac.json"), callback_url=f"{live_server.url}/api/v1/hooks/n8n/")
    for node in definition["nodes"]:
        if node["type"] == "n8n-nodes-base.crypto":
            node["credentials"]["crypto"]["id"] = credential
        if node["type"] == "n8n-nodes-base.httpRequest":  # the README's node settings
            node["parameters"]["headerParameters"]["parameters"].append(
                {"name": "X-Echelon-Workflow", "value": "={{ $workflow.id }}"})
    wf_id = n8n.create("workflows", definition)
    Workflow.objects.filter(pk=workflow.pk).update(n8n_workflow_id=wf_id)
    assert agent_deploy(agent=agent).status == "deployed"

    webhook = f"{os.environ['N8N_BASE_URL'].rstrip('/')}/webhook/{definition['name']}"
    for _ in range(20):  # right after a publish the webhook can be "not registered" for a moment
        if httpx.post(webhook, json={"question": "live?"}, timeout=10).status_code == 200:
            break
        time.sleep(0.5)
    for _ in range(60):
        execution = WorkflowExecution.objects.filter(workflow=workflow).first()
        if execution is not None:
            break
        time.sleep(0.5)
    assert execution is not None, "n8n's signed callback never reached Echelon"
    assert (execution.status, execution.output_data) == ("success", [{"question": "live?"}])

    with N8nClient.from_settings() as client:
        report = n8n_sync(client=client)
    assert report.errors == []
    workflow = Workflow.objects.get(pk=workflow.pk)
    assert (workflow.execution_count, workflow.success_count) == (1, 1)
    assert WorkflowExecution.objects.filter(workflow=workflow).count() == 1


@pytest.mark.django_db
def test_a_waiting_execution_is_synced_as_waiting(n8n):
    recorded = recording("workflows_list_limit2.json")["data"][0]  # echelon-e2e-wait-long
    definition = unique({key: recorded[key] for key in ("name", "nodes", "connections", "settings")})
    wf_id = n8n.create("workflows", definition)
    agent = AgentFactory()
    workflow = WorkflowFactory(agent=agent, n8n_workflow_id=wf_id)
    assert agent_deploy(agent=agent).status == "deployed"
    webhook = f"{os.environ['N8N_BASE_URL'].rstrip('/')}/webhook/{definition['name']}"
    for _ in range(20):
        if httpx.post(webhook, json={}, timeout=10).status_code == 200:
            break
        time.sleep(0.5)
    with N8nClient.from_settings() as client:
        for _ in range(20):
            n8n_sync(client=client)
            execution = WorkflowExecution.objects.filter(workflow=workflow).first()
            if execution is not None and execution.status == "waiting":
                break
            time.sleep(0.5)
    assert execution is not None and execution.status == "waiting", execution and execution.status
    assert execution.completed_at is None
    assert Workflow.objects.get(pk=workflow.pk).execution_count == 0


@pytest.mark.django_db(transaction=True)
def test_split_brain_a_frozen_n8n_publishes_later_and_one_pass_repairs_it(n8n, settings, queue_worker):
    """Issue 18, point 1: n8n frozen (SIGSTOP) during a deploy, the publish times out; n8n resumes
    and carries it out. The deployment says `unknown` meanwhile, and one pass makes it deployed."""
    pid = int(os.environ.get("N8N_PID", "0"))
    assert pid, "the split-brain case needs N8N_PID (the n8n process to freeze)"
    settings.N8N_TIMEOUT_SECONDS = 3
    wf_id = n8n.create("workflows", unique(recording("wf1.json")))
    agent = AgentFactory()
    WorkflowFactory(agent=agent, n8n_workflow_id=wf_id)
    deployment = deployment_request(agent=agent)
    os.kill(pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        queue_worker()
        timed_out_after = time.monotonic() - started
    finally:
        os.kill(pid, signal.SIGCONT)
    deployment.refresh_from_db()
    assert deployment.status == "unknown", deployment.error_message
    with N8nClient.from_settings() as client:
        for _ in range(60):  # n8n carries the queued publish out once it runs again
            if client.get_workflow(wf_id)["active"]:
                break
            time.sleep(0.5)
        assert client.get_workflow(wf_id)["active"] is True
        started = time.monotonic()
        report = n8n_pass(client=client, stale_after=timedelta(0))
        repaired_after = time.monotonic() - started
    deployment.refresh_from_db()
    agent.refresh_from_db()
    assert (deployment.status, agent.status, report.reconcile.resolved) == ("deployed", "active", 1)
    assert Workflow.objects.get(n8n_workflow_id=wf_id).status == "active"
    print(f"split brain: publish timed out after {timed_out_after:.1f} s; one pass resolved it in "
          f"{repaired_after:.2f} s")
    deployment_stop(deployment=Deployment.objects.get(pk=deployment.pk))
