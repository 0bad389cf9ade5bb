"""Real parallel transactions: threads, each with its own PostgreSQL connection.

- 20 simultaneous deploys of one agent get versions 1..20 and leave exactly one live deployment;
- 50 simultaneous signed callbacks (then 50 simultaneous replays) leave exact workflow counters
  and one `agent_error` per failed execution.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone as tz

import pytest
from django.test import Client

from agents.models import Agent
from notifications.models import Notification
from tests.factories import AgentFactory, WorkflowFactory
from tests.threads import run_in_threads
from workflows.models import Deployment, Workflow, WorkflowExecution
from workflows.n8n.backends import LocalBackend
from workflows.services import agent_deploy
from workflows.services.hooks import sign

pytestmark = pytest.mark.django_db(transaction=True)


def test_parallel_deploys_get_consecutive_versions_and_one_live_deployment(relay):
    agent = AgentFactory(status="inactive")

    def deploy(_):
        agent_deploy(agent=Agent.objects.get(pk=agent.pk), backend=LocalBackend())

    assert run_in_threads(20, deploy) == []
    rows = list(Deployment.objects.filter(agent=agent).order_by("version"))
    assert [d.version for d in rows] == list(range(1, 21))
    live = [d for d in rows if d.status == "deployed"]
    assert len(live) == 1
    assert sorted(d.status for d in rows if d not in live) == ["stopped"] * 19
    # the live one is the last to finish: every other one was stopped when a later one went live
    assert all(d.stopped_at is not None and d.stopped_at <= live[0].deployed_at for d in rows if d not in live)
    assert Notification.objects.filter(type="deployment_success").count() == 20
    relay()
    assert Notification.objects.filter(type="agent_status_change").count() == 1


def test_parallel_callbacks_keep_exact_counters(settings, relay):
    agent = AgentFactory(status="active")
    workflow = WorkflowFactory(agent=agent, n8n_workflow_id="9qAE7S1t2kkV2PNZ", webhook_secret="concurrency-secret")
    base = datetime(2026, 11, 25, 3, 0, tzinfo=tz.utc)
    bodies = []
    for i in range(50):
        status = "error" if i % 10 < 3 else "success"  # 15 errors, 35 successes
        bodies.append(json.dumps({
            "status": status, "n8n_execution_id": str(100 + i), "n8n_workflow_id": "9qAE7S1t2kkV2PNZ",
            "ts": int(time.time()), "started_at": base.isoformat(),
            "stopped_at": (base + timedelta(seconds=i)).isoformat(),
            **({"error": {"message": f"failure {i}"}} if status == "error" else {"output": {"i": i}}),
        }).encode())
    answers: list[int] = []

    def callback(i):
        response = Client().post("/api/v1/hooks/n8n/", bodies[i], content_type="application/json",
                                 headers={"X-Echelon-Signature": sign(bodies[i], "concurrency-secret"),
                                          "X-Echelon-Workflow": "9qAE7S1t2kkV2PNZ"})
        answers.append(response.status_code)

    assert run_in_threads(50, callback) == []
    assert sorted(answers) == [201] * 50
    assert run_in_threads(50, callback) == []  # the same 50, replayed at once
    assert sorted(answers[50:]) == [200] * 50

    workflow = Workflow.objects.get(pk=workflow.pk)
    assert (workflow.execution_count, workflow.success_count, workflow.error_count) == (50, 35, 15)
    assert workflow.last_execution == base + timedelta(seconds=49)
    assert WorkflowExecution.objects.filter(workflow=workflow).count() == 50
    assert Notification.objects.filter(type="agent_error").count() == 15
    relay()
    assert Notification.objects.filter(type="agent_status_change").count() == 1  # active → error, once
