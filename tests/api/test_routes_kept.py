"""The URLs clients used before the endpoints became viewset actions still answer (issue 13):
same paths and methods, now routed by the routers, and no detail route takes an action's name."""

from __future__ import annotations

import uuid

import pytest
from django.urls import resolve

ID = uuid.UUID("b29de077-3af1-4f62-97ab-40ff99a6c703")  # fixed: test ids must be the same in every collection
# path → (method, viewset, action) of every endpoint that was hand-routed before
KEPT = {
    "/api/v1/hooks/n8n/": ("post", "N8nHookViewSet", "create"),
    f"/api/v1/agents/{ID}/deploy/": ("post", "AgentLifecycleViewSet", "deploy"),
    "/api/v1/agents/dashboard/": ("get", "AgentLifecycleViewSet", "dashboard"),
    f"/api/v1/deployments/{ID}/stop/": ("post", "DeploymentViewSet", "stop"),
    f"/api/v1/workflow-executions/{ID}/thoughts/": ("post", "WorkflowExecutionViewSet", "thoughts"),
    f"/api/v1/workflow-executions/{ID}/mind-map/": ("get", "WorkflowExecutionViewSet", "mind_map"),
    "/api/v1/agent-metrics/bulk/": ("post", "AgentMetricViewSet", "bulk"),
    "/api/v1/agent-metrics/aggregate/": ("get", "AgentMetricViewSet", "aggregate"),
    "/api/v1/api-usage/summary/": ("get", "ApiUsageViewSet", "summary"),
}


@pytest.mark.parametrize("path", list(KEPT))
def test_the_old_url_is_a_viewset_action(path):
    method, viewset, action = KEPT[path]
    match = resolve(path)
    assert match.func.cls.__name__ == viewset
    assert match.func.actions == {method: action} or match.func.actions.get(method) == action


def test_a_non_uuid_id_is_no_detail_route():
    """`agents/dashboard/` is an action, never an agent id (detail routes match UUIDs only)."""
    assert resolve("/api/v1/agents/dashboard/").func.cls.__name__ == "AgentLifecycleViewSet"
    assert resolve(f"/api/v1/agents/{ID}/").func.cls.__name__ == "AgentViewSet"


@pytest.mark.django_db
def test_the_old_urls_answer_their_methods(client):
    """Anonymous: each answers 401 (or, for the HMAC callback, 400/401 for an unsigned body),
    never 404 or 405: the route and the method are still served."""
    for path, (method, _, _) in KEPT.items():
        if method == "get":
            response = client.get(path)
        else:
            response = client.post(path, "{}", content_type="application/json")
        assert response.status_code in (400, 401), (path, response.status_code, response.content[:200])
