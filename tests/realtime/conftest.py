"""Fixtures of the realtime tests: `node` (Node.js with realtime-js installed), `runtime` (each Node run), `team_agent`. Redis and live
daphne servers (`redis_url`, `daphne_server`) are shared with other suites: tests/conftest.py."""

from __future__ import annotations

import shutil

import pytest

from accounts.models import Role
from tests import factories
from tests.servers import ROOT

NODE22 = ROOT / "tests" / "supabase" / "e2e" / "node22"


@pytest.fixture
def team_agent():
    """An agent of a team: its owner (team admin), a viewer of the team, and an outsider."""
    owner, viewer, outsider = factories.UserFactory(), factories.UserFactory(), factories.UserFactory()
    team = factories.TeamFactory(created_by=owner)
    factories.UserRoleFactory(user=owner, team=team, role=Role.ADMIN)
    factories.UserRoleFactory(user=viewer, team=team, role=Role.VIEWER)
    agent = factories.AgentFactory(created_by=owner, team=team)
    return {"owner": owner, "viewer": viewer, "outsider": outsider, "team": team, "agent": agent}


@pytest.fixture
def node():
    """Path of `node` with realtime-js installed in node_modules (by `make test`)."""
    path = shutil.which("node")
    if path is None:
        pytest.fail("node (Node.js 20) is required for the realtime end-to-end test; install it, then run `make test`")
    if not (ROOT / "node_modules" / "@supabase" / "realtime-js").is_dir():
        pytest.fail("node_modules lacks @supabase/realtime-js: run `make test` (it runs `npm ci`) or `npm ci`")
    return path


@pytest.fixture(params=["node20", "node22"])
def runtime(request, node):
    """(node binary, folder whose node_modules holds supabase-js) for each run."""
    if request.param == "node20":
        return node, ROOT
    binary = NODE22 / "node_modules" / "node" / "bin" / "node"
    if not binary.exists() or not (NODE22 / "node_modules" / "@supabase" / "supabase-js").is_dir():
        pytest.fail("tests/supabase/e2e/node22 is not installed: run `make test` (npm ci there)")
    return str(binary), NODE22
