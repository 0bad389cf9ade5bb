"""The page views without a browser: sign-in required, rows through the policies (404 for a
row the user may not read), the realtime token endpoint (session + CSRF), constant query
counts as rows grow."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework_simplejwt.tokens import AccessToken

from accounts.models import Role
from tests import factories

pytestmark = pytest.mark.django_db


def signed_in(user, **kwargs) -> Client:
    client = Client(**kwargs)
    client.force_login(user)
    return client


@pytest.mark.parametrize("path", ["/", "/notifications/", "/agents/{agent}/", "/executions/{execution}/mind-map/"])
def test_pages_need_a_session(path):
    execution = factories.WorkflowExecutionFactory()
    url = path.format(agent=execution.workflow.agent_id, execution=execution.pk)
    response = Client().get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")


def test_login_page_has_labelled_fields():
    body = Client().get("/login/").content.decode()
    assert '<label for="id_username">Email</label>' in body
    assert '<label for="id_password">Password</label>' in body


def test_pages_of_rows_the_user_may_not_read_are_404(user):
    other_execution = factories.WorkflowExecutionFactory()
    client = signed_in(user)
    assert client.get(f"/agents/{other_execution.workflow.agent_id}/").status_code == 404
    assert client.get(f"/executions/{other_execution.pk}/mind-map/").status_code == 404
    mine = factories.WorkflowExecutionFactory(workflow=factories.WorkflowFactory(agent=factories.AgentFactory(created_by=user)))
    assert client.get(f"/agents/{mine.workflow.agent_id}/").status_code == 200
    assert client.get(f"/executions/{mine.pk}/mind-map/").status_code == 200


def test_dashboard_renders_readable_rows_with_buttons_only_where_editable(user):
    team = factories.TeamFactory()
    factories.UserRoleFactory(user=user, team=team, role=Role.VIEWER)
    own = factories.AgentFactory(created_by=user, name="Own agent")
    viewed = factories.AgentFactory(team=team, name="Team agent")
    hidden = factories.AgentFactory(name="Hidden agent")
    body = signed_in(user).get("/").content.decode()
    assert f'id="agent-{own.pk}"' in body and f'id="agent-{viewed.pk}"' in body
    assert str(hidden.pk) not in body and "Hidden agent" not in body
    assert f'aria-label="Pause {own.name}"' in body
    assert f'aria-label="Pause {viewed.name}"' not in body
    assert 'no-store' in signed_in(user).get("/")["Cache-Control"]  # the page carries a token


def test_dashboard_query_count_does_not_grow_with_agents(user):
    team = factories.TeamFactory()
    factories.UserRoleFactory(user=user, team=team, role=Role.AGENT_MANAGER)
    client = signed_in(user)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/").status_code == 200
        return len(queries)

    factories.AgentFactory(created_by=user, team=team)
    few = count()
    for _ in range(15):
        agent = factories.AgentFactory(created_by=user, team=factories.TeamFactory())
        factories.DeploymentFactory(agent=agent)
        factories.WorkflowFactory(agent=agent)
    assert count() == few


def test_agent_page_query_count_does_not_grow_with_rows(user):
    agent = factories.AgentFactory(created_by=user)
    client = signed_in(user)
    workflow = factories.WorkflowFactory(agent=agent)
    factories.WorkflowExecutionFactory(workflow=workflow)
    factories.DeploymentFactory(agent=agent)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(f"/agents/{agent.pk}/").status_code == 200
        return len(queries)

    few = count()
    for _ in range(10):
        factories.WorkflowExecutionFactory(workflow=factories.WorkflowFactory(agent=agent))
        factories.DeploymentFactory(agent=agent)
    assert count() == few


def test_realtime_token_endpoint_needs_a_session_and_the_csrf_token(user):
    assert Client().post("/web/realtime-token/").status_code == 401
    assert signed_in(user).get("/web/realtime-token/").status_code == 405

    strict = signed_in(user, enforce_csrf_checks=True)
    assert strict.post("/web/realtime-token/").status_code == 403  # no CSRF token
    page = strict.get("/")
    csrf = page.context["csrf_token"]
    response = strict.post("/web/realtime-token/", HTTP_X_CSRFTOKEN=str(csrf))
    assert response.status_code == 200
    token = AccessToken(response.json()["token"])
    assert token["sub"] == str(user.pk)
    assert token["role"] == "authenticated"
    assert response.json()["expires_at"] == token["exp"]


def test_every_page_carries_a_token_for_its_user(user):
    page = signed_in(user).get("/notifications/")
    config = page.context["live_config"]
    assert AccessToken(config["token"])["sub"] == str(user.pk)
    assert config["socket_path"] == "/realtime/v1/websocket"
    assert b'id="live-config"' in page.content


def test_notifications_page_shows_only_the_users_notifications_and_the_unread_count(user):
    factories.NotificationFactory(user=user, title="Mine, unread", priority="high")
    factories.NotificationFactory(user=user, title="Mine, read", read_at="2026-01-01T00:00:00Z")
    factories.NotificationFactory(title="Someone else's")
    body = signed_in(user).get("/notifications/").content.decode()
    assert "Mine, unread" in body and "Mine, read" in body
    assert "Someone else" not in body
    assert 'data-count="1"' in body
    assert "priority-high" in body


def test_agent_page_names_team_and_owner_only_through_their_policies(user):
    other_team = factories.TeamFactory(name="Not my team")
    agent = factories.AgentFactory(created_by=user, team=other_team)
    body = signed_in(user).get(f"/agents/{agent.pk}/").content.decode()
    assert "Not my team" not in body and "a team you are not in" in body
    assert user.email in body

    team = factories.TeamFactory(name="Shared team")
    factories.UserRoleFactory(user=user, team=team, role=Role.VIEWER)
    stranger_agent = factories.AgentFactory(team=team)  # owner shares no team with the user
    body = signed_in(user).get(f"/agents/{stranger_agent.pk}/").content.decode()
    assert "Shared team" in body
    assert stranger_agent.created_by.email not in body


def test_agent_page_shows_when_a_scheduled_deployment_will_run(user):
    agent = factories.AgentFactory(created_by=user)
    factories.DeploymentFactory(agent=agent, version=1, status="pending", trigger_type="scheduled",
                                trigger_config={"run_at": "2027-01-02T03:04:00+00:00"})
    factories.DeploymentFactory(agent=agent, version=2, status="pending", trigger_type="manual",
                                trigger_config={"run_at": "2027-05-05T05:05:00+00:00"})  # not a schedule
    body = signed_in(user).get(f"/agents/{agent.pk}/").content.decode()
    assert 'for <time datetime="2027-01-02T03:04:00Z">Jan 2, 03:04 UTC</time>' in body  # time.js localizes it
    assert "2027-05-05" not in body


def test_empty_states_are_shown(user):
    client = signed_in(user)
    assert '<p class="empty" id="agents-empty">' in client.get("/").content.decode()
    assert '<p class="empty" id="notifications-empty">' in client.get("/notifications/").content.decode()
    agent = factories.AgentFactory(created_by=user)
    body = client.get(f"/agents/{agent.pk}/").content.decode()
    assert "No metrics recorded for this agent yet." in body and "Never deployed." in body
    execution = factories.WorkflowExecutionFactory(workflow=factories.WorkflowFactory(agent=agent))
    page = client.get(f"/executions/{execution.pk}/mind-map/")
    assert page.context["thoughts"] == []
    assert 'id="mindmap-empty"' in page.content.decode()
