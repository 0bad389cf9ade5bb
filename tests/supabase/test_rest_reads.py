"""`/rest/v1` reads: the grammar, the reader's columns, embeds under their own policies, counts,
single objects, errors in PostgREST's shape, and one SQL statement per read whatever it embeds."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Role
from echelon.auth.tokens import access_token_for
from tests import factories as f
from tests.supabase.clients import supabase_client

pytestmark = pytest.mark.django_db
OBJECT = "application/vnd.pgrst.object+json"


@pytest.fixture
def team_world():
    w = {"owner": f.UserFactory(full_name="Olga"), "mate": f.UserFactory(full_name="Mats"),
         "outsider": f.UserFactory(), "root": f.UserFactory(is_staff=True, is_superuser=True)}
    w["team"] = f.TeamFactory(created_by=w["owner"], name="Team A")
    f.UserRoleFactory(user=w["owner"], team=w["team"], role=Role.ADMIN)
    f.UserRoleFactory(user=w["mate"], team=w["team"], role=Role.VIEWER)
    w["agent"] = f.AgentFactory(created_by=w["owner"], team=w["team"], name="Alpha", config={"symbols": ["X"], "n": 3})
    w["private"] = f.AgentFactory(created_by=w["owner"], team=None, name="Private")
    w["other"] = f.AgentFactory(created_by=w["outsider"], name="Other")
    for version in (1, 2, 3):
        f.DeploymentFactory(agent=w["agent"], version=version)
    w["wf"] = f.WorkflowFactory(agent=w["agent"], name="wf")
    f.WorkflowFactory(agent=w["other"], name="other wf")
    return w


def get(user, table, params=None, **headers):
    return supabase_client(user).get(f"/rest/v1/{table}", params or {}, **headers)


def test_users_rows_carry_the_columns_of_their_reader_kind(team_world):
    owner, mate = team_world["owner"], team_world["mate"]
    rows = {r["id"]: r for r in get(owner, "users", {"select": "*"}).json()}
    assert set(rows) == {str(owner.pk), str(mate.pk)}
    assert set(rows[str(owner.pk)]) == {"id", "email", "full_name", "avatar_url", "subscription_tier", "is_staff",
                                        "is_superuser", "created_at", "updated_at"}
    assert set(rows[str(mate.pk)]) == {"id", "email", "full_name", "avatar_url"}  # a teammate: the public profile
    # an explicit column some kinds do not see is left out of the rows whose reader may not see it
    rows = {r["email"]: r for r in get(owner, "users", {"select": "email,tier:subscription_tier"}).json()}
    assert rows[owner.email] == {"email": owner.email, "tier": "free"} and rows[mate.email] == {"email": mate.email}


@pytest.mark.parametrize(("table", "params"), [
    ("users", {"select": "password"}),
    ("users", {"select": "last_login"}),  # the operator's only
    ("workflows", {"select": "id,webhook_secret"}),
    ("workflows", {"webhook_secret": "eq.x"}),
    ("workflows", {"order": "webhook_secret"}),
    ("workflows", {"or": "(webhook_secret.like.a*,id.is.null)"}),
    ("users", {"password": "like.pbkdf2*"}),
    ("agents", {"select": "id,workflows(webhook_secret)"}),
    ("agents", {"select": "id,workflows(id)", "workflows.webhook_secret": "eq.x"}),
])
def test_hidden_columns_do_not_exist(team_world, table, params):
    response = get(team_world["owner"], table, params)
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "42703" and set(body) == {"code", "details", "hint", "message"}


def test_a_column_only_some_rows_show_is_no_filter(team_world):
    """Filtering teammates by tier would tell their tier: refused, though self rows show it."""
    response = get(team_world["owner"], "users", {"subscription_tier": "eq.pro"})
    assert response.status_code == 403 and response.json()["code"] == "42501"
    response = get(team_world["owner"], "users", {"order": "is_staff.desc"})
    assert response.status_code == 403
    assert get(team_world["root"], "users", {"subscription_tier": "eq.free", "select": "id"}).status_code == 200


def test_embeds_follow_foreign_keys_both_ways_under_their_own_policies(team_world):
    owner, mate, outsider = team_world["owner"], team_world["mate"], team_world["outsider"]
    rows = get(owner, "agents", {"select": "name,deployments(version),creator:users(full_name),team:teams(name)",
                                 "order": "name", "deployments.order": "version.desc", "deployments.limit": "2"}).json()
    assert rows == [
        {"name": "Alpha", "deployments": [{"version": 3}, {"version": 2}], "creator": {"full_name": "Olga"},
         "team": {"name": "Team A"}},
        {"name": "Private", "deployments": [], "creator": {"full_name": "Olga"}, "team": None}]
    # the teammate reads the team's agent and its deployments, and the creator's public profile
    rows = get(mate, "agents", {"select": "name,users(email,subscription_tier),deployments(v:version)",
                                "deployments.order": "version"}).json()
    # the creator as the teammate sees it: the member kind, no tier
    assert rows == [{"name": "Alpha", "users": {"email": owner.email}, "deployments": [{"v": 1}, {"v": 2}, {"v": 3}]}]
    # many-to-one from the child: a deployment's agent; the outsider sees neither
    rows = get(owner, "deployments", {"select": "version,agents(name)", "order": "version", "limit": "1"}).json()
    assert rows == [{"version": 1, "agents": {"name": "Alpha"}}]
    assert get(outsider, "deployments", {"select": "id"}).json() == []
    # an embedded resource the parent's reader may not read stays out: the outsider's workflows of
    # its own agent are there, the team's are not, even when embedded from teams it is not in
    assert get(outsider, "teams", {"select": "name,agents(name)"}).json() == []
    rows = get(outsider, "users", {"select": "id,agents(name)"}).json()
    assert rows == [{"id": str(outsider.pk), "agents": [{"name": "Other"}]}]


def test_inner_embeds_filters_and_spread(team_world):
    owner = team_world["owner"]
    rows = get(owner, "agents", {"select": "name,deployments!inner(version)", "deployments.version": "gte.2",
                                 "deployments.order": "version"}).json()
    assert rows == [{"name": "Alpha", "deployments": [{"version": 2}, {"version": 3}]}]
    rows = get(owner, "agents", {"select": "name,deployments(version)", "deployments.version": "eq.9"}).json()
    assert {r["name"]: r["deployments"] for r in rows} == {"Alpha": [], "Private": []}
    rows = get(owner, "deployments", {"select": "version,...agents(agent_name:name)", "version": "eq.1"}).json()
    assert rows == [{"version": 1, "agent_name": "Alpha"}]
    rows = get(owner, "agents", {"select": "name,config->n,sym:config->symbols->>0,id::text",
                                 "config->>n": "eq.3"}).json()
    assert rows == [{"name": "Alpha", "n": 3, "sym": "X", "id": str(team_world["agent"].pk)}]
    rows = get(owner, "agents", {"select": "name", "config": 'cs.{"symbols":["X"]}'}).json()
    assert rows == [{"name": "Alpha"}]
    rows = get(owner, "agents", {"select": "name", "or": "(name.eq.Private,and(name.like.A*,description.is.null))",
                                 "order": "name.desc"}).json()
    assert [r["name"] for r in rows][0] == "Private"
    rows = get(owner, "agents", {"select": "name", "name": "not.in.(Alpha,\"Pri,vate\")"}).json()
    assert [r["name"] for r in rows] == ["Private"]


def test_ambiguous_and_missing_relationships(team_world):
    response = get(team_world["owner"], "user_roles", {"select": "id,users(email)"})
    assert response.status_code == 300 and response.json()["code"] == "PGRST201"
    assert "users!user_roles_user_id_fkey" in response.json()["hint"]
    rows = get(team_world["owner"], "user_roles", {"select": "role,member:users!user_roles_user_id_fkey(full_name)",
                                                   "order": "role"}).json()
    assert rows == [{"role": "admin", "member": {"full_name": "Olga"}},
                    {"role": "viewer", "member": {"full_name": "Mats"}}]
    response = get(team_world["owner"], "agents", {"select": "id,notifications(id)"})
    assert response.status_code == 400 and response.json()["code"] == "PGRST200"
    response = get(team_world["owner"], "agents", {"select": "id", "deployments.status": "eq.x"})
    assert response.status_code == 400 and response.json()["code"] == "PGRST108"


def test_count_range_single_head(team_world):
    owner = team_world["owner"]
    response = get(owner, "deployments", {"select": "version", "order": "version", "limit": "2", "offset": "1"},
                   HTTP_PREFER="count=exact")
    assert response.status_code == 206 and response["Content-Range"] == "1-2/3"
    assert response.json() == [{"version": 2}, {"version": 3}]
    response = get(owner, "deployments", {"select": "version", "offset": "9"}, HTTP_PREFER="count=exact")
    assert response.status_code == 416 and response.json()["code"] == "PGRST103"
    response = get(owner, "deployments", {"select": "version"})
    assert response.status_code == 200 and response["Content-Range"] == "0-2/*"
    response = get(owner, "agents", {"select": "name", "name": "eq.Alpha"}, HTTP_ACCEPT=OBJECT)
    assert response.json() == {"name": "Alpha"} and response["Content-Type"].startswith(OBJECT)
    response = get(owner, "agents", {"select": "name"}, HTTP_ACCEPT=OBJECT)
    assert response.status_code == 406 and response.json()["details"] == "The result contains 2 rows"
    response = supabase_client(owner).head("/rest/v1/agents", HTTP_PREFER="count=exact")
    assert response.status_code == 200 and response.content == b"" and response["Content-Range"] == "0-1/2"


@pytest.mark.parametrize(("params", "code"), [
    ({"select": "id,"}, "PGRST100"),
    ({"select": "name.sum()"}, "PGRST100"),
    ({"select": "count()"}, "PGRST100"),
    ({"select": "id::regclass"}, "PGRST100"),
    ({"name": "fts.word"}, "PGRST100"),
    ({"name": "eq(any).{a,b}"}, "PGRST100"),
    ({"name": "zz.x"}, "PGRST100"),
    ({"or": "name.eq.x"}, "PGRST100"),
    ({"limit": "-1"}, "PGRST100"),
    ({"order": "agents(name)"}, "PGRST100"),
    ({"id": "eq.not-a-uuid"}, "22P02"),
    ({"created_at": "gt.notadate"}, "22007"),
    ({"id": "like.a*"}, "42883"),
    ({"status": "is.true"}, "42804"),
    ({"name": "cs.{a}"}, "42883"),
    ({"select": "name::int"}, "22P02"),
])
def test_bad_grammar_is_a_400_naming_it(team_world, params, code):
    response = get(team_world["owner"], "agents", params)
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == code and body["message"], body


def test_keys_and_tokens(team_world):
    response = supabase_client(None, key="").get("/rest/v1/agents")
    assert response.status_code == 401 and response.json()["message"] == "No API key found in request"
    assert supabase_client(None, key="nope").get("/rest/v1/agents").status_code == 401
    # an access token is no anon key: the project key must be the anon key
    assert supabase_client(None, key=access_token_for(team_world["owner"])).get("/rest/v1/agents").status_code == 401
    response = supabase_client(None, token="bad.token.here").get("/rest/v1/agents")
    assert response.status_code == 401 and response.json()["code"] == "PGRST301"
    assert get(None, "agents").json() == [] and get(None, "users").json() == []
    assert get(None, "nothing").status_code == 404


def test_a_read_is_one_statement_whatever_it_embeds(team_world, django_assert_num_queries):
    """The user's row (token check), then one statement; the savepoint pair is the test's
    transaction (a request in autocommit has none)."""
    for _ in range(3):
        f.AgentFactory(created_by=team_world["owner"], team=team_world["team"])
    client = supabase_client(team_world["owner"])
    for select in ("*", "*,deployments(*)", "*,deployments(*,agents(*,users(*))),workflows(*),teams(*,user_roles(*))"):
        with CaptureQueriesContext(connection) as queries:
            response = client.get("/rest/v1/agents", {"select": select}, HTTP_PREFER="count=exact")
        assert response.status_code == 200
        statements = [q["sql"] for q in queries.captured_queries if "SAVEPOINT" not in q["sql"]]
        assert len(statements) == 2, statements
