"""A small world for API tests: one team with an admin, an agent_manager and a viewer; an agent
owner who is not a member; an outsider (admin of another team); a superuser; and a row of each
table on each side.

Actors authenticate with real JWT access tokens, so every request re-reads the user and the
policy runs against the database as in production.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient


from accounts.models import Role
from tests import factories as f
from tests.api.clients import client_as


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # Real hashing costs ~0.3 s per user; these tests are about access, not password storage.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def world(db):
    w: dict = {}
    for name in ("owner", "admin", "manager", "viewer", "outsider"):
        w[name] = f.UserFactory(email=f"{name}@example.com")
    w["superuser"] = f.UserFactory(email="superuser@example.com", is_staff=True, is_superuser=True)

    w["team"] = f.TeamFactory(name="Team", slug="team", created_by=w["admin"])
    w["team_other"] = f.TeamFactory(name="Other team", slug="other-team", created_by=w["outsider"])
    w["role_admin"] = f.UserRoleFactory(user=w["admin"], team=w["team"], role=Role.ADMIN)
    w["role_manager"] = f.UserRoleFactory(user=w["manager"], team=w["team"], role=Role.AGENT_MANAGER)
    w["role_viewer"] = f.UserRoleFactory(user=w["viewer"], team=w["team"], role=Role.VIEWER)
    w["role_outsider"] = f.UserRoleFactory(user=w["outsider"], team=w["team_other"], role=Role.ADMIN)

    # Agents and everything hanging off them: `_team` (owner's, in the team), `_private`
    # (owner's, no team), `_other` (outsider's, in the other team).
    agents = {
        "team": f.AgentFactory(created_by=w["owner"], team=w["team"]),
        "private": f.AgentFactory(created_by=w["owner"], team=None),
        "other": f.AgentFactory(created_by=w["outsider"], team=w["team_other"]),
    }
    for side, agent in agents.items():
        w[f"agent_{side}"] = agent
        w[f"dep_{side}"] = f.DeploymentFactory(agent=agent, version=1)
        w[f"wf_{side}"] = f.WorkflowFactory(agent=agent)
        w[f"exec_{side}"] = f.WorkflowExecutionFactory(workflow=w[f"wf_{side}"])
        # Not attached to the execution: an execution with thoughts cannot be deleted alone
        # (RESTRICT), which has its own test; here the workflow's delete is about access.
        w[f"thought_{side}"] = f.AgentThoughtFactory(execution=None, agent=agent)
        w[f"metric_{side}"] = f.AgentMetricFactory(agent=agent)

    w["tpl_public"] = f.AgentTemplateFactory(created_by=w["outsider"], is_public=True)
    w["tpl_owner"] = f.AgentTemplateFactory(created_by=w["owner"], is_public=False)
    w["tpl_other"] = f.AgentTemplateFactory(created_by=w["outsider"], is_public=False)

    w["note_owner"] = f.NotificationFactory(user=w["owner"])
    w["note_owner_expired"] = f.NotificationFactory(
        user=w["owner"], expires_at=timezone.now() - timedelta(minutes=1)
    )
    w["note_other"] = f.NotificationFactory(user=w["outsider"])

    w["usage_owner"] = f.ApiUsageFactory(user=w["owner"])
    w["usage_other"] = f.ApiUsageFactory(user=w["outsider"])
    return w


@pytest.fixture
def as_actor(world):
    """`as_actor("viewer")` → a client for that actor of the world ("anonymous": no token)."""

    def make(actor: str) -> APIClient:
        return client_as(None if actor == "anonymous" else world[actor])

    return make
