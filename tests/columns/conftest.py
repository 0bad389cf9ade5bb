"""The world of the column-policy walk (tests/columns/support.py describes its readers and rows)."""

from __future__ import annotations

import pytest

from accounts.models import Role
from echelon.policy import registered_models
from tests import factories as f
from tests.columns.support import ROW_MAKERS, plant_sentinels


@pytest.fixture
def world(db):
    w: dict = {}
    w["owner"] = f.UserFactory(email="owner@example.com", is_staff=True)
    w["manager"] = f.UserFactory(email="manager@example.com")
    w["viewer"] = f.UserFactory(email="viewer@example.com")
    w["staff"] = f.UserFactory(email="staff@example.com", is_staff=True)
    w["superuser"] = f.UserFactory(email="root@example.com", is_staff=True, is_superuser=True)
    w["outsider"] = f.UserFactory(email="outsider@example.com", is_staff=True)
    w["team"] = f.TeamFactory(created_by=w["owner"])
    w["other_team"] = f.TeamFactory(created_by=w["outsider"])
    for name, role in (("owner", Role.ADMIN), ("manager", Role.AGENT_MANAGER), ("viewer", Role.VIEWER),
                       ("staff", Role.VIEWER)):
        f.UserRoleFactory(user=w[name], team=w["team"], role=role, granted_by=w["owner"])
    f.UserRoleFactory(user=w["outsider"], team=w["other_team"], role=Role.ADMIN, granted_by=w["outsider"])
    w["agent"] = f.AgentFactory(created_by=w["owner"], team=w["team"])
    w["workflow"] = f.WorkflowFactory(agent=w["agent"])
    w["execution"] = f.WorkflowExecutionFactory(workflow=w["workflow"])
    w["rows"] = {model: ROW_MAKERS[model](w) for model in registered_models() if model in ROW_MAKERS}
    for model in registered_models():
        plant_sentinels(model)
    for row in w["rows"].values():
        row.refresh_from_db()
    return w
