"""`/rest/v1` writes go through `/api/v1`'s serializers, services and re-checks: owner fields from
the user, status through its service, deployments through the deployment service, columns
users may not write refused, rows the user may not change not matched (0 rows, as RLS), and a
refused row anywhere in a request writes nothing."""

from __future__ import annotations

import pytest

from accounts.models import Role, UserRole
from agents.models import Agent
from notifications.models import Notification
from tests import factories as f
from tests.supabase.clients import supabase_client
from workflows.models import Deployment, Workflow

pytestmark = pytest.mark.django_db
REPRESENTATION = {"HTTP_PREFER": "return=representation"}


@pytest.fixture
def w():
    w = {"owner": f.UserFactory(), "viewer": f.UserFactory(), "outsider": f.UserFactory()}
    w["team"] = f.TeamFactory(created_by=w["owner"])
    w["admin_role"] = f.UserRoleFactory(user=w["owner"], team=w["team"], role=Role.ADMIN)
    f.UserRoleFactory(user=w["viewer"], team=w["team"], role=Role.VIEWER)
    w["agent"] = f.AgentFactory(created_by=w["owner"], team=w["team"], name="Alpha")
    w["other"] = f.AgentFactory(created_by=w["outsider"], name="Other")
    return w


def post(user, table, body, query="", **headers):
    return supabase_client(user).post(f"/rest/v1/{table}?select=*{query}", body, format="json", **headers)


def patch(user, table, query, body, **headers):
    return supabase_client(user).patch(f"/rest/v1/{table}?{query}", body, format="json", **headers)


def test_insert_sets_the_owner_from_the_user_and_refuses_server_columns(w):
    response = post(w["viewer"], "agents", {"name": "Mine", "type": "media"}, **REPRESENTATION)
    assert response.status_code == 201
    assert response.json()[0]["created_by"] == str(w["viewer"].pk)
    response = post(w["viewer"], "agents", {"name": "Theirs", "type": "media", "created_by": str(w["owner"].pk)})
    assert response.status_code == 403 and response.json()["code"] == "42501"
    assert "created_by" in response.json()["message"]
    response = post(w["owner"], "workflows", {"agent_id": str(w["agent"].pk), "name": "x", "webhook_secret": "s"})
    assert response.status_code == 400 and response.json()["code"] == "PGRST204"  # a never column does not exist
    assert not Workflow.objects.filter(name="x").exists()
    response = post(None, "agents", {"name": "anon", "type": "media"})
    assert response.status_code == 401 and response.json()["code"] == "42501"
    response = post(w["owner"], "workflow_executions", {"status": "success"})
    assert response.status_code == 403 and "permission denied for table" in response.json()["message"]


def test_insert_validates_with_the_serializer(w):
    response = post(w["owner"], "agents", {"name": "x", "type": "spaceship"})
    assert response.status_code == 400 and response.json()["code"] == "23514"
    assert response.json()["message"].startswith("type:")
    # a team the user may not put agents in is the same 400 as one that does not exist, named by column
    response = post(w["viewer"], "agents", {"name": "x", "type": "media", "team_id": str(w["team"].pk)})
    assert response.status_code == 400 and response.json()["message"].startswith("team_id: Invalid pk")
    response = post(w["owner"], "agents", {"name": None, "type": "media"})
    assert response.status_code == 400 and response.json()["code"] == "23502"
    assert supabase_client(w["owner"]).post("/rest/v1/agents", b"{nope", content_type="application/json"
                                           ).json()["code"] == "PGRST102"


def test_a_bulk_insert_is_all_or_nothing(w):
    before = Agent.objects.count()
    response = post(w["owner"], "agents", [{"name": "one", "type": "media"}, {"name": "two", "type": "nope"}],
                    query='&columns="name","type"')
    assert response.status_code == 400
    assert Agent.objects.count() == before
    response = post(w["owner"], "agents", [{"name": "one", "type": "media"}, {"name": "two"}],
                    query='&columns="name","type"')
    assert response.status_code == 400 and response.json()["code"] == "23502"  # a missing column is NULL
    response = post(w["owner"], "agents", [{"name": "one", "type": "media"}, {"name": "two"}],
                    query='&columns="name","type"', HTTP_PREFER="return=representation,missing=default")
    assert response.status_code == 400  # type has no default either
    response = post(w["owner"], "agents", [{"name": "one", "type": "media"}, {"name": "two", "type": "alarm"}],
                    HTTP_PREFER="return=minimal")
    assert response.status_code == 201 and response.content == b""
    assert Agent.objects.count() == before + 2


def test_status_goes_through_its_service_and_deployments_through_theirs(w, relay):
    response = patch(w["owner"], "agents", f"id=eq.{w['agent'].pk}&select=status", {"status": "active"},
                     **REPRESENTATION)
    assert response.json() == [{"status": "active"}]
    relay()
    note = Notification.objects.get(user=w["owner"])
    assert note.data == {"agent_id": str(w["agent"].pk), "old_status": "inactive", "new_status": "active"}
    # one creation path for deployments (issue 19): the agent's deploy, not an insert
    response = post(w["owner"], "deployments", {"agent_id": str(w["agent"].pk), "trigger_type": "manual"},
                    **REPRESENTATION)
    assert response.status_code == 403 and response.json()["code"] == "42501", response.content
    assert not Deployment.objects.exists()
    row = Deployment.objects.create(agent=w["agent"], version=1, status="stopped")
    for body in ({"status": "deployed"}, {"agent_id": str(w["other"].pk)}):
        response = patch(w["owner"], "deployments", f"id=eq.{row.pk}", body)
        assert response.status_code == 403 and response.json()["code"] == "42501"


def test_rows_the_user_may_not_change_are_not_matched(w):
    for user in (w["viewer"], w["outsider"], None):
        response = patch(user, "agents", f"id=eq.{w['agent'].pk}", {"name": "taken"}, **REPRESENTATION)
        assert (response.status_code, response.json()) == (200, [])
        response = supabase_client(user).delete(f"/rest/v1/agents?id=eq.{w['agent'].pk}", **REPRESENTATION)
        assert (response.status_code, response.json()) == (200, [])
    w["agent"].refresh_from_db()
    assert w["agent"].name == "Alpha"
    # an update without filters changes exactly the user's rows
    response = patch(w["owner"], "agents", "select=name", {"description": "all mine"}, **REPRESENTATION)
    assert response.json() == [{"name": "Alpha"}]
    assert Agent.objects.get(pk=w["other"].pk).description != "all mine"
    response = patch(w["owner"], "agents", f"id=eq.{w['agent'].pk}", {"description": "x"})
    assert response.status_code == 204


def test_a_write_that_would_leave_the_users_reach_is_refused_whole(w):
    """The viewset's re-check inside the transaction: 403, nothing written (RLS's WITH CHECK)."""
    manager = f.UserFactory()
    f.UserRoleFactory(user=manager, team=w["team"], role=Role.AGENT_MANAGER)
    response = patch(manager, "agents", f"id=eq.{w['agent'].pk}", {"team_id": None})
    assert response.status_code == 403 and response.json()["code"] == "42501"
    w["agent"].refresh_from_db()
    assert w["agent"].team_id == w["team"].pk


def test_upsert_merges_or_ignores_duplicates(w):
    agent = str(w["agent"].pk)
    response = post(w["owner"], "agents", {"id": agent, "name": "Merged"},
                    HTTP_PREFER="resolution=merge-duplicates,return=representation")
    assert response.status_code == 201 and response.json()[0]["name"] == "Merged"
    response = post(w["owner"], "agents", {"id": agent, "name": "Ignored"},
                    HTTP_PREFER="resolution=ignore-duplicates,return=representation")
    assert response.json() == []
    response = post(w["outsider"], "agents", {"id": agent, "name": "Stolen"}, HTTP_PREFER="resolution=merge-duplicates")
    assert response.status_code == 403 and response.json()["code"] == "42501"
    response = post(w["owner"], "teams", {"slug": w["team"].slug, "name": "Renamed"}, query="&on_conflict=slug",
                    HTTP_PREFER="resolution=merge-duplicates,return=representation")
    assert response.json()[0]["name"] == "Renamed"
    response = post(w["owner"], "teams", {"name": "n", "slug": "s"}, query="&on_conflict=name",
                    HTTP_PREFER="resolution=merge-duplicates")
    assert response.status_code == 400 and response.json()["code"] == "42P10"
    assert Agent.objects.get(pk=agent).name == "Merged"


def test_deletes_go_through_the_services(w):
    response = supabase_client(w["owner"]).delete(f"/rest/v1/user_roles?id=eq.{w['admin_role'].pk}")
    assert response.status_code == 409 and response.json()["code"] == "P0001"  # the last admin stays
    assert UserRole.objects.filter(pk=w["admin_role"].pk).exists()
    response = supabase_client(w["owner"]).delete(f"/rest/v1/agents?id=eq.{w['agent'].pk}&select=name",
                                                  **REPRESENTATION)
    assert response.json() == [{"name": "Alpha"}] and not Agent.objects.filter(pk=w["agent"].pk).exists()
    response = supabase_client(w["owner"]).delete("/rest/v1/deployments?id=eq.x")
    assert response.status_code == 400 and response.json()["code"] == "22P02"
    assert Deployment.objects.count() == 0


def test_notifications_are_marked_read_by_the_service_and_profiles_change_as_users_me(w):
    note = f.NotificationFactory(user=w["owner"])
    response = patch(w["owner"], "notifications", f"id=eq.{note.pk}&select=read_at",
                     {"read_at": "2001-01-01T00:00:00Z"}, **REPRESENTATION)
    read_at = response.json()[0]["read_at"]
    assert read_at is not None and not read_at.startswith("2001")  # the server's time
    response = patch(w["owner"], "notifications", f"id=eq.{note.pk}", {"title": "x"})
    assert response.status_code == 403
    response = patch(w["owner"], "users", f"id=eq.{w['owner'].pk}&select=full_name", {"full_name": "New Name"},
                     **REPRESENTATION)
    assert response.json() == [{"full_name": "New Name"}]
    response = patch(w["owner"], "users", f"id=eq.{w['viewer'].pk}", {"full_name": "Not yours"}, **REPRESENTATION)
    assert response.json() == []
    response = patch(w["owner"], "users", f"id=eq.{w['owner'].pk}", {"is_superuser": True})
    assert response.status_code == 403
    response = patch(w["owner"], "users", f"id=eq.{w['owner'].pk}", {"avatar_url": "javascript:alert(1)"})
    assert response.status_code == 400 and response.json()["message"].startswith("avatar_url:")


def test_single_object_writes(w):
    response = post(w["owner"], "agents", {"name": "One", "type": "media"},
                    HTTP_PREFER="return=representation", HTTP_ACCEPT="application/vnd.pgrst.object+json")
    assert response.status_code == 201 and response.json()["name"] == "One"
    response = patch(w["owner"], "agents", "select=id", {"description": "both"},
                     HTTP_PREFER="return=representation", HTTP_ACCEPT="application/vnd.pgrst.object+json")
    assert response.status_code == 406 and response.json()["code"] == "PGRST116"
    assert not Agent.objects.filter(description="both").exists()  # a refused answer writes nothing
