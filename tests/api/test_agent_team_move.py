"""Moving an agent between teams (issue 12, point 5): the owner's, or an admin of both teams'.

Found over REST: an agent_manager of two teams PATCHed `team` of another owner's team agent
into her other team, and the original team lost it. The rule is one service check
(`agents.services.agent_check_team_move`) that the REST update and the admin both go through.

Cast: `owner` owns `agent` in team A; `manager` is agent_manager of A and B; `admin` is admin
of A and B; `half` is admin of A and agent_manager of B; `outsider_admin` is admin of B only.
"""

from __future__ import annotations

import json

import httpx
import pytest
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import Role
from agents.models import Agent
from echelon.auth.tokens import access_token_for
from tests import factories as f


@pytest.fixture
def cast(db):
    c = {name: f.UserFactory(email=f"{name}@move.test", is_staff=True)
         for name in ("owner", "manager", "admin", "half", "outsider_admin")}
    c["superuser"] = f.UserFactory(is_staff=True, is_superuser=True)
    c["A"], c["B"] = f.TeamFactory(slug="team-a"), f.TeamFactory(slug="team-b")
    roles = {
        "owner": {"A": Role.AGENT_MANAGER, "B": Role.AGENT_MANAGER},
        "manager": {"A": Role.AGENT_MANAGER, "B": Role.AGENT_MANAGER},
        "admin": {"A": Role.ADMIN, "B": Role.ADMIN},
        "half": {"A": Role.ADMIN, "B": Role.AGENT_MANAGER},
        "outsider_admin": {"B": Role.ADMIN},
    }
    for name, teams in roles.items():
        for team, role in teams.items():
            f.UserRoleFactory(user=c[name], team=c[team], role=role)
    c["agent"] = f.AgentFactory(created_by=c["owner"], team=c["A"], name="the agent")
    return c


def patch(user, agent, body):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access_token_for(user)}")
    return client.patch(f"/api/v1/agents/{agent.pk}/", body, format="json")


def stored(agent):
    return Agent.objects.values_list("team_id", "name").get(pk=agent.pk)


@pytest.mark.parametrize(("actor", "target", "expected"), [
    ("manager", "B", 403),  # the finding
    ("half", "B", 403),  # admin of the source only
    ("manager", None, 403),  # out of the team: the team loses it just the same
    ("owner", "B", 200),
    ("owner", None, 200),
    ("admin", "B", 200),
    ("half", None, 403),
    ("admin", None, 403),  # out of every team is the owner's call
    ("superuser", "B", 200),
])
def test_rest_team_moves(cast, actor, target, expected):
    agent = cast["agent"]
    before = stored(agent)
    response = patch(cast[actor], agent, {"team": str(cast[target].pk) if target else None, "name": "renamed"})
    assert response.status_code == expected, response.json()
    if expected == 403:
        body = response.json()["error"]
        assert body["code"] == "permission_denied" and "owner" in body["message"], body
        assert stored(agent) == before  # nothing written, not even the name
    else:
        assert stored(agent) == ((cast[target].pk if target else None), "renamed")


def test_rest_a_manager_still_edits_the_agent_in_place(cast):
    agent = cast["agent"]
    response = patch(cast["manager"], agent, {"team": str(cast["A"].pk), "description": "tuned"})
    assert response.status_code == 200, response.json()
    assert Agent.objects.get(pk=agent.pk).description == "tuned"


def test_rest_an_admin_of_the_target_only_cannot_pull_an_agent_in(cast):
    # outsider_admin cannot even read the agent (not in team A): 404, as any invisible row.
    assert patch(cast["outsider_admin"], cast["agent"], {"team": str(cast["B"].pk)}).status_code == 404
    assert stored(cast["agent"])[0] == cast["A"].pk


def change_form_data(client, agent) -> dict:
    """The admin change form as the browser would post it, unchanged."""
    page = client.get(f"/admin/agents/agent/{agent.pk}/change/")
    assert page.status_code == 200
    form = page.context["adminform"].form
    data = {}
    for name, field in form.fields.items():
        if field.disabled:
            continue
        value = form[name].value()
        if isinstance(value, (dict, list)):
            value = json.dumps(value)
        if value is not None:
            data[name] = value
    for formset in page.context["inline_admin_formsets"]:
        management = formset.formset.management_form
        for name in management.fields:
            data[f"{management.prefix}-{name}"] = management[name].value()
    return data


@pytest.mark.parametrize(("actor", "expected"), [("manager", 403), ("half", 403), ("admin", 302), ("owner", 302)])
def test_admin_team_moves_follow_the_same_rule(cast, actor, expected):
    client = Client()
    client.force_login(cast[actor])
    agent = cast["agent"]
    data = change_form_data(client, agent)
    data.update(team=str(cast["B"].pk), name="moved in the admin")
    response = client.post(f"/admin/agents/agent/{agent.pk}/change/", data)
    assert response.status_code == expected, response.content[:2000]
    team, name = stored(agent)
    if expected == 403:
        assert (team, name) == (cast["A"].pk, "the agent")
    else:
        assert (team, name) == (cast["B"].pk, "moved in the admin")


@pytest.mark.django_db(transaction=True)
def test_live_an_agent_manager_cannot_move_another_owners_agent_to_her_other_team(cast):
    """As found, against a live daphne: PATCH `team` → 403, and team A keeps its agent."""
    from tests.monitoring.servers import DaphneServer

    server = DaphneServer(ECHELON_METERING="0")
    try:
        agent = cast["agent"]
        headers = {"Authorization": f"Bearer {access_token_for(cast['manager'])}"}
        with httpx.Client(base_url=server.url, timeout=30) as http:
            moved = http.patch(f"/api/v1/agents/{agent.pk}/", json={"team": str(cast["B"].pk)}, headers=headers)
            listed = http.get("/api/v1/agents/", params={"team": str(cast["A"].pk)},
                              headers={"Authorization": f"Bearer {access_token_for(cast['admin'])}"})
        assert moved.status_code == 403, moved.text
        assert stored(agent)[0] == cast["A"].pk
        assert str(agent.pk) in {row["id"] for row in listed.json()["results"]}, listed.text
    finally:
        server.kill()
