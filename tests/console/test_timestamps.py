"""Issue 19: one timestamp format in the API: ISO 8601 in UTC ending in `Z`, at the top level and
in nested objects alike (the dashboard's latest deployment, the deploy response, the mind map,
metric buckets, stored JSON such as a scheduled deployment's run_at)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from monitoring.models import AgentMetric
from tests import factories
from workflows.services import agent_deploy

pytestmark = pytest.mark.django_db
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")


def timestamps(value, path="$"):
    """(path, text) of every string of a JSON value that is an ISO 8601 date-time."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from timestamps(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from timestamps(item, f"{path}[{index}]")
    elif isinstance(value, str) and TIMESTAMP.match(value):
        yield path, value


def test_every_timestamp_the_api_answers_ends_in_z(client_for, settings):
    settings.N8N_BASE_URL = ""
    owner = factories.UserFactory()
    agent = factories.AgentFactory(created_by=owner)
    workflow = factories.WorkflowFactory(agent=agent, last_execution=timezone.now())
    execution = factories.WorkflowExecutionFactory(workflow=workflow, completed_at=timezone.now())
    factories.AgentThoughtFactory(execution=execution, node_id="root")
    AgentMetric.objects.create(agent=agent, metric_type="response_time", value=120, unit="ms")
    client = client_for(owner)
    deployed = client.post(f"/api/v1/agents/{agent.pk}/deploy/", {}, format="json")
    scheduled = client.post(f"/api/v1/agents/{agent.pk}/deploy/",
                            {"run_at": (timezone.now() + timedelta(hours=2)).isoformat()}, format="json")
    agent_deploy(agent=agent, actor=owner)
    answers = {
        "deploy": deployed, "scheduled": scheduled,
        "dashboard": client.get("/api/v1/agents/dashboard/"),
        "deployments": client.get("/api/v1/deployments/"),
        "mind-map": client.get(f"/api/v1/workflow-executions/{execution.pk}/mind-map/"),
        "aggregate": client.get("/api/v1/agent-metrics/aggregate/", {"metric_type": "response_time",
                                                                      "bucket": "hour"}),
        "workflows": client.get("/api/v1/workflows/"),
    }
    seen = 0
    for name, response in answers.items():
        assert response.status_code in (200, 201, 202), (name, response.content)
        for path, text in timestamps(response.json()):
            seen += 1
            assert text.endswith("Z"), (name, path, text)
    assert seen >= 15, seen
    nested = list(timestamps(answers["dashboard"].json()))
    assert any("latest_deployment" in path for path, _ in nested), nested
    assert any(path.endswith("run_at") for path, _ in timestamps(scheduled.json()))
