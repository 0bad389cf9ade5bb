"""api_usage is no existence oracle (issue 12, point 10): a row names an agent only when its user
may read that agent (the agent's row policy answers at flush time).

Found against a live daphne: an outsider's 404 on `/agents/<id>/` was metered with that
agent_id when the agent existed (and NULL when it did not), and the outsider reads their own
usage rows back."""

from __future__ import annotations

import uuid

import httpx
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.models import Role
from echelon.auth.tokens import access_token_for
from monitoring import metering
from monitoring.models import ApiUsage
from tests import factories
from tests.monitoring.servers import DaphneServer, bearer


def client(user):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {access_token_for(user)}")
    return api


@pytest.fixture
def cast(db):
    owner, viewer, outsider = factories.UserFactory(), factories.UserFactory(), factories.UserFactory()
    superuser = factories.UserFactory(is_superuser=True, is_staff=True)
    team = factories.TeamFactory(created_by=owner)
    factories.UserRoleFactory(user=viewer, team=team, role=Role.VIEWER)
    agent = factories.AgentFactory(created_by=owner, team=team)
    return {"owner": owner, "viewer": viewer, "outsider": outsider, "superuser": superuser, "agent": agent}


def usage_of(user):
    return list(ApiUsage.objects.filter(user=user).order_by("created_at").values_list("status_code", "agent_id"))


@pytest.mark.django_db
def test_each_reader_kind_gets_the_agent_only_when_it_may_read_it(cast):
    agent = cast["agent"]
    url = f"/api/v1/agents/{agent.pk}/"
    assert client(cast["owner"]).get(url).status_code == 200
    assert client(cast["viewer"]).patch(url, {"name": "x"}, format="json").status_code == 403  # readable
    assert client(cast["outsider"]).get(url).status_code == 404
    assert client(cast["outsider"]).post(f"{url}deploy/", {}, format="json").status_code == 404
    assert client(cast["outsider"]).get(f"/api/v1/agents/{uuid.uuid4()}/").status_code == 404
    assert client(cast["superuser"]).get(url).status_code == 200
    metering.flush()
    assert usage_of(cast["owner"]) == [(200, agent.pk)]
    assert usage_of(cast["viewer"]) == [(403, agent.pk)]
    assert usage_of(cast["outsider"]) == [(404, None), (404, None), (404, None)]  # existing = missing
    assert usage_of(cast["superuser"]) == [(200, agent.pk)]


@pytest.mark.django_db
def test_the_policy_check_costs_the_same_few_queries_for_any_number_of_users(cast):
    agents = [factories.AgentFactory(created_by=factories.UserFactory()) for _ in range(12)]
    rows = [(agent.created_by_id, agent.pk, "/api/v1/agents/{id}/", "GET", 200, 1, metering.ZERO, 0.0)
            for agent in agents]
    rows += [(cast["outsider"].pk, agent.pk, "/api/v1/agents/{id}/", "GET", 404, 1, metering.ZERO, 0.0)
             for agent in agents]
    with CaptureQueriesContext(connection) as queries:
        kept = metering.readable_agents_only(rows)
    assert len(queries) == 2  # the users, then one UNION ALL of their policy subqueries
    assert [row[1] for row in kept] == [agent.pk for agent in agents] + [None] * 12


@pytest.mark.django_db(transaction=True)
def test_live_a_404_on_an_existing_agent_is_metered_like_one_on_a_missing_agent(cast):
    agent = cast["agent"]
    server = DaphneServer(ECHELON_METERING_FLUSH_SECONDS="600", ECHELON_METERING_BATCH_SIZE="100000")
    try:
        with httpx.Client(base_url=server.url, headers=bearer(cast["outsider"]), timeout=30) as http:
            assert http.get(f"/api/v1/agents/{agent.pk}/").status_code == 404
            assert http.get(f"/api/v1/agents/{uuid.uuid4()}/").status_code == 404
        assert server.stop() == 0, server.output()  # the shutdown flush writes the rows
    finally:
        server.kill()
    assert usage_of(cast["outsider"]) == [(404, None), (404, None)]
