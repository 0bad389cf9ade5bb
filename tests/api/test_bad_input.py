"""Odd input never becomes a 500."""

from __future__ import annotations

import pytest

from tests.api.clients import client_as


@pytest.mark.parametrize(
    ("url", "params", "field"),
    [
        ("/api/v1/agents/", {"search": "a\x00b"}, "search"),
        ("/api/v1/workflows/", {"n8n_workflow_id": "a\x00b"}, "n8n_workflow_id"),
    ],
)
def test_nul_characters_in_query_parameters_are_400(url, params, field, world):
    response = client_as(world["owner"]).get(url, params)
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("post", "/api/v1/agents/", [1, 2]),
        ("post", "/api/v1/agents/", {"name": "a\x00", "type": "market"}),
        ("post", "/api/v1/agents/", {"name": "x" * 300, "type": "market"}),
        ("post", "/api/v1/teams/", {"name": "t", "slug": "team"}),
        ("post", "/api/v1/agent-templates/{tpl_public}/instantiate/", {"config": "nope"}),
        ("patch", "/api/v1/team-roles/{role_viewer}/", {"role": "emperor"}),
        ("post", "/api/v1/workflows/", {"agent": "{agent_private}", "name": "w", "status": "bogus"}),
    ],
)
def test_bad_bodies_are_400(method, url, body, world):
    ids = {k: world[k].pk for k in ("tpl_public", "role_viewer", "agent_private")}
    url = url.format(**ids)
    if isinstance(body, dict):
        body = {k: v.format(**ids) if isinstance(v, str) and "{" in v else v for k, v in body.items()}
    actor = "admin" if "team-roles" in url else "owner"
    response = getattr(client_as(world[actor]), method)(url, body, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["error"]["message"]


def test_garbage_cursor_is_404_not_500(world):
    response = client_as(world["owner"]).get("/api/v1/notifications/", {"cursor": "garbage"})
    assert response.status_code == 404
    assert response.json()["error"]["message"] == "Invalid cursor"
