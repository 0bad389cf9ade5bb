"""End to end: a Supabase frontend's calls with the real @supabase/supabase-js against a live daphne.

Two runs: supabase-js 2.109.0 on Node 20 (`package.json`), and the newest 2.x on Node 22 (the
`node` npm package, `tests/supabase/e2e/node22/`, installed by `make test`). Each run signs in
(a wrong password first), reads with filters, embeds, order, range and an exact count, asks for
single rows, inserts, updates, upserts and deletes with representation, finds another user's
rows invisible and unchangeable, reads and marks its notifications, and receives a
`postgres_changes` UPDATE on a channel opened after sign-in without `setAuth`; then refreshes
(rotation: the old refresh token is refused) and signs out (the session's refresh token is
refused). Here because the live daphne and Node fixtures live in tests/realtime/conftest.py.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from accounts.models import Role
from echelon.auth.tokens import anon_key
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "tests" / "supabase" / "e2e" / "client.mjs"
PASSWORD = "a long passphrase 42"


def test_supabase_js_unmodified(runtime, daphne_server, settings):
    binary, modules = runtime
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]  # daphne's hasher
    owner = factories.UserFactory(email="owner@example.com", full_name="Owner", password=PASSWORD)
    viewer = factories.UserFactory()
    outsider = factories.UserFactory()
    team = factories.TeamFactory(created_by=owner, name="The team")
    factories.UserRoleFactory(user=owner, team=team, role=Role.ADMIN)
    factories.UserRoleFactory(user=viewer, team=team, role=Role.VIEWER)
    agent = factories.AgentFactory(created_by=owner, team=team, name="Alpha", description="first")
    factories.AgentFactory(created_by=owner, team=team, name="Beta", description="second")
    deployment = factories.DeploymentFactory(agent=agent, version=1)
    factories.WorkflowFactory(agent=agent, name="wf-alpha")
    theirs = factories.AgentFactory(created_by=outsider, name="Theirs")
    host, port = daphne_server()

    spec = {
        "url": f"http://{host}:{port}", "anonKey": anon_key(), "modules": str(modules),
        "owner": {"id": str(owner.pk), "email": owner.email, "password": PASSWORD},
        "outsider": {"agentId": str(theirs.pk)},
        "agentId": str(agent.pk), "agentName": agent.name, "teamId": str(team.pk),
    }
    run = subprocess.run([binary, str(SCRIPT), json.dumps(spec)], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout.strip().splitlines()[-1])
    report = ROOT / "artifacts" / f"supabase-js-{out['version']}.json"  # what the client saw (git-ignored)
    report.parent.mkdir(exist_ok=True)
    report.write_text(json.dumps(out, indent=1))
    assert "crash" not in out, out.get("crash")

    # auth
    assert out["wrongPassword"]["error"]["status"] == 400
    assert out["wrongPassword"]["error"]["code"] == "invalid_credentials" and out["wrongPassword"]["session"] is None
    assert out["anonymousRead"] == {"data": [], "error": None}
    assert out["signIn"] == {"error": None, "userId": str(owner.pk), "tokenType": "bearer",
                             "expiresIn": out["signIn"]["expiresIn"]} and 800 < out["signIn"]["expiresIn"] <= 900
    assert out["getUser"]["id"] == str(owner.pk) and out["getUser"]["role"] == "authenticated"
    assert out["getUser"]["metadata"] == {"full_name": "Owner", "avatar_url": None}

    # reads
    assert out["list"]["error"] is None and out["list"]["count"] == 2 and out["list"]["status"] == 206
    assert out["list"]["data"] == [{"id": str(agent.pk), "name": "Alpha", "status": "inactive",
                                    "deployments": [{"id": str(deployment.pk), "status": "pending"}],
                                    "workflows": [{"name": "wf-alpha"}], "team": {"name": "The team"}}]
    assert out["filtered"] == {"data": [{"name": "Alpha"}], "error": None}
    assert out["inner"] == {"data": [{"name": "Alpha", "deployments": [{"status": "pending"}]}], "error": None}
    assert out["single"] == {"data": {"name": "Alpha"}, "error": None}
    assert out["singleNone"]["data"] is None and out["singleNone"]["error"]["code"] == "PGRST116"
    assert out["singleNone"]["status"] == 406
    assert out["maybeSingle"] == {"data": None, "error": None}
    assert out["head"] == {"count": 2, "data": None, "error": None}
    assert out["badColumn"]["status"] == 400 and out["badColumn"]["error"]["code"] == "42703"

    # writes, through the serializers and services: owner from the user, status through its service
    created = out["insert"]["data"]
    assert out["insert"]["status"] == 201 and created["created_by"] == str(owner.pk)
    assert created["team_id"] == str(team.pk) and created["status"] == "inactive"
    assert out["insertMany"]["data"] == [
        {"name": "Bulk one", "description": None, "created_by": str(owner.pk)},
        {"name": "Bulk two", "description": "second", "created_by": str(owner.pk)}]
    assert out["update"]["data"] == [{"id": created["id"], "status": "paused", "description": "changed"}]
    assert out["upsert"]["data"] == [{"id": created["id"], "name": "Upserted"}]
    assert out["statusChange"]["data"] == [{"status": "active"}]
    assert out["unknownColumn"]["status"] == 400 and out["unknownColumn"]["error"]["code"] == "PGRST204"
    assert out["delete"]["data"] == [{"id": created["id"], "name": "Upserted"}]

    # another user's rows
    assert out["outsider"] == {"read": [], "update": [], "updateError": None, "delete": [], "deleteError": None}
    theirs.refresh_from_db()
    assert theirs.name == "Theirs"

    # notifications: the status changes' (agent_set_status), newest first; marked read by the service
    titles = [n["title"] for n in out["notifications"]["data"]]
    assert titles and set(titles) == {"Agent Status Updated"}
    assert out["markRead"]["data"][0]["read_at"] is not None

    # realtime: the UPDATE of the status, on the channel opened after sign-in (no setAuth)
    assert out["realtimeStatus"] == "SUBSCRIBED"
    assert {"table": "agents", "type": "UPDATE", "status": "active", "name": "Alpha"} in out["changes"]

    # refresh rotates; sign-out revokes the session
    assert out["refresh"] == {"error": None, "changed": True, "rotated": True}
    assert out["reusedRefresh"]["error"]["code"] == "refresh_token_already_used"
    assert out["signOut"] == {"error": None, "session": None}
    assert out["refreshAfterSignOut"]["error"]["code"] in ("refresh_token_already_used", "refresh_token_not_found")
