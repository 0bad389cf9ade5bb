"""The dashboard answers the seed's "efficient agent dashboard query" for the request user."""

from __future__ import annotations

from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from agents.models import Agent
from echelon.dates import iso_utc
from workflows.selectors import agent_dashboard
from tests import factories as f
from tests.api.clients import client_as


def test_dashboard_rows_match_the_seed_query(world):
    owner = world["owner"]
    now = timezone.now()
    agent = world["agent_private"]
    f.DeploymentFactory(agent=agent, version=2, status="failed", created_at=now - timedelta(hours=2))
    f.DeploymentFactory(agent=agent, version=3, status="deployed", deployed_at=now, created_at=now)
    f.WorkflowFactory(agent=agent, created_at=now + timedelta(seconds=1)).__class__.objects.filter(
        agent=agent, created_at__gt=now
    ).update(execution_count=7, success_count=5, error_count=2)
    bare = f.AgentFactory(created_by=owner)  # no deployment, no workflow

    response = client_as(owner).get("/api/v1/agents/dashboard/")
    assert response.status_code == 200
    rows = {row["id"]: row for row in response.json()}
    assert set(rows) == {str(world["agent_team"].pk), str(agent.pk), str(bare.pk)}
    assert rows[str(agent.pk)]["latest_deployment"]["status"] == "deployed"
    # the API's one timestamp form (echelon.dates.iso_utc), built by PostgreSQL inside the object
    assert rows[str(agent.pk)]["latest_deployment"]["deployed_at"] == iso_utc(now)
    assert rows[str(agent.pk)]["latest_workflow"] == {"execution_count": 7, "success_count": 5, "error_count": 2}
    assert rows[str(bare.pk)]["latest_deployment"] is None and rows[str(bare.pk)]["latest_workflow"] is None
    stamps = [row["updated_at"] for row in response.json()]
    assert stamps == sorted(stamps, reverse=True)


def test_dashboard_timestamps_on_the_second_have_no_fraction_as_everywhere_in_the_api(world):
    on_the_second = timezone.now().replace(microsecond=0) + timedelta(hours=1)
    agent = f.AgentFactory(created_by=world["owner"])
    deployment = f.DeploymentFactory(agent=agent, version=1, deployed_at=on_the_second, created_at=on_the_second)
    rows = {row["id"]: row for row in client_as(world["owner"]).get("/api/v1/agents/dashboard/").json()}
    shown = rows[str(agent.pk)]["latest_deployment"]["deployed_at"]
    assert shown == iso_utc(on_the_second) == client_as(world["owner"]).get(
        f"/api/v1/deployments/{deployment.pk}/").json()["deployed_at"]
    assert "." not in shown and shown.endswith("Z")


def test_dashboard_is_one_query_and_covers_team_agents(world):
    for _ in range(20):
        f.WorkflowFactory(agent=f.DeploymentFactory(agent=f.AgentFactory(team=world["team"]), version=1).agent)
    with CaptureQueriesContext(connection) as queries:
        rows = agent_dashboard(user=world["viewer"])
    assert len(queries) == 1
    assert len(rows) == Agent.objects.filter(team=world["team"]).count() == 21
    assert all(row["latest_deployment"] and row["latest_workflow"] for row in rows[:20])


def test_dashboard_row_keys_match_the_agent_list(world):
    client = client_as(world["owner"])
    listed = client.get("/api/v1/agents/").json()["results"][0]
    dashboard = client.get("/api/v1/agents/dashboard/").json()[0]
    assert set(dashboard) == set(listed) | {"latest_deployment", "latest_workflow"}
    assert {k: dashboard[k] for k in listed} == listed  # same values, same formats (timestamps)


def test_list_and_retrieve_fast_paths_match_the_serializer(world):
    import json

    from rest_framework.renderers import JSONRenderer
    from rest_framework.request import Request
    from rest_framework.test import APIRequestFactory

    from agents.api.serializers import AgentSerializer

    owner = world["owner"]
    client = client_as(owner)
    listed = {row["id"]: row for row in client.get("/api/v1/agents/").json()["results"]}
    reader = Request(APIRequestFactory().get("/"))
    reader.user = owner
    for agent in Agent.objects.filter(created_by=owner):
        detail = client.get(f"/api/v1/agents/{agent.pk}/").json()
        serialized = json.loads(JSONRenderer().render(AgentSerializer(agent, context={"request": reader}).data))
        assert listed[str(agent.pk)] == detail == serialized
        assert set(detail) == set(AgentSerializer.field_names())


def test_agent_rows_show_each_reader_what_the_policy_shows_it(world):
    """The list's and the dashboard's rows take their columns from the agent policy, as the
    serializers do: one declaration for every adapter."""
    from agents.api.serializers import AgentSerializer
    from agents.selectors import agent_columns
    from echelon.policy import policy_for

    policy = policy_for(Agent)
    for user in (world["owner"], world["viewer"], world["superuser"]):
        kind = policy.reader_kind(user, None)
        names = [name for name, _, _ in agent_columns(user)]
        assert set(names) == AgentSerializer.fields_for_kind(kind)
        assert {Agent._meta.get_field(name).column for name in names} == policy.columns.visible(kind)
        assert names == [name for name in AgentSerializer.field_names() if name in names]  # the same order


def test_retrieve_in_the_browsable_api_still_renders_html(world):
    agent = world["agent_private"]
    response = client_as(world["owner"]).get(f"/api/v1/agents/{agent.pk}/", HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html") and agent.name in response.content.decode()
