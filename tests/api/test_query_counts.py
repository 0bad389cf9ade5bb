"""Every list endpoint and the dashboard run a fixed number of SQL queries, however many rows.

Counts include the JWT user lookup (1). Catalogues: + count + page = 3 (agents: the count is a
column of the page query, 2). Cursor pages and the
dashboard: + one query = 2.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Role
from tests import factories as f
from tests.api.clients import client_as, results


def _agent(world):
    return f.AgentFactory(created_by=world["owner"], team=world["team"])


def _execution(world):
    return f.WorkflowExecutionFactory(workflow=f.WorkflowFactory(agent=world["agent_team"]))


MAKERS = {
    "/api/v1/agents/": (2, _agent),  # the total rides in the page query
    "/api/v1/agent-templates/": (3, lambda w: f.AgentTemplateFactory(is_public=True)),
    "/api/v1/deployments/": (3, lambda w: f.DeploymentFactory(agent=_agent(w), version=1)),
    "/api/v1/workflows/": (3, lambda w: f.WorkflowFactory(agent=w["agent_team"])),
    "/api/v1/workflow-executions/": (2, _execution),
    "/api/v1/agent-thoughts/": (2, lambda w: f.AgentThoughtFactory(execution=_execution(w), agent=w["agent_team"])),
    "/api/v1/agent-metrics/": (2, lambda w: f.AgentMetricFactory(agent=w["agent_team"])),
    "/api/v1/notifications/": (2, lambda w: f.NotificationFactory(user=w["admin"])),
    "/api/v1/api-usage/": (2, lambda w: f.ApiUsageFactory(user=w["admin"])),
    "/api/v1/teams/": (3, lambda w: f.UserRoleFactory(user=w["admin"], role=Role.ADMIN).team),
    "/api/v1/team-roles/": (3, lambda w: f.UserRoleFactory(team=w["team"])),
    "/api/v1/users/": (3, lambda w: f.UserRoleFactory(team=w["team"]).user),
    "/api/v1/agents/dashboard/": (2, lambda w: f.WorkflowFactory(agent=f.DeploymentFactory(agent=_agent(w),
                                                                                           version=1).agent)),
}


def _count(client, url) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, {"page_size": 200} if "dashboard" not in url else None)
    assert response.status_code == 200, response.content
    return len(queries), len(results(response))


@pytest.mark.parametrize("url", list(MAKERS))
def test_list_query_count_is_constant(url, world):
    expected, make = MAKERS[url]
    client = client_as(world["admin"])
    for _ in range(3):
        make(world)
    small_queries, small_rows = _count(client, url)
    for _ in range(27):
        make(world)
    large_queries, large_rows = _count(client, url)
    assert large_rows >= small_rows + 27
    assert small_queries == large_queries == expected
