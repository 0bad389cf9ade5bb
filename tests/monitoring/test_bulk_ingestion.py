"""POST /api/v1/agent-metrics/bulk/: validation lists every bad row's index, writes are all or
nothing, only writable agents, and the number of queries does not grow with the rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import orjson
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Role
from monitoring.models import AgentMetric
from tests import factories

pytestmark = pytest.mark.django_db
URL = "/api/v1/agent-metrics/bulk/"
T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def row(agent, **changes):
    base = {"agent_id": str(agent.pk), "metric_type": "response_time", "value": 12.5, "unit": "ms",
            "metadata": {"run": 1}, "recorded_at": T0.isoformat()}
    base.update(changes)
    return base


def post(client, payload):
    return client.post(URL, data=orjson.dumps(payload), content_type="application/json")


@pytest.fixture
def owner():
    return factories.UserFactory()


@pytest.fixture
def agent(owner):
    return factories.AgentFactory(created_by=owner)


def test_valid_rows_are_written_with_their_values(client_for, owner, agent):
    rows = [
        row(agent),
        {"agent_id": str(agent.pk).upper(), "metric_type": "success_rate", "value": "99.1234", "unit": "percent",
         "recorded_at": "2026-11-20T13:30:00Z"},
        {"agent_id": str(agent.pk), "metric_type": "tokens", "value": -999999, "unit": None},
        row(agent, value=999999.9999, metadata={}),
    ]
    response = post(client_for(owner), {"rows": rows})
    assert response.status_code == 201, response.content
    assert response.json() == {"inserted": 4}
    stored = list(AgentMetric.objects.order_by("metric_type", "value").values_list(
        "agent_id", "metric_type", "value", "unit", "metadata", "recorded_at"))
    assert stored[0] == (agent.pk, "response_time", Decimal("12.5000"), "ms", {"run": 1}, T0)
    assert stored[1] == (agent.pk, "response_time", Decimal("999999.9999"), "ms", {}, T0)
    assert stored[2] == (agent.pk, "success_rate", Decimal("99.1234"), "percent", {},
                         datetime(2026, 11, 20, 13, 30, tzinfo=UTC))
    assert stored[3][1:4] == ("tokens", Decimal("-999999.0000"), None)
    assert stored[3][5] is not None  # recorded_at defaults to now


def test_a_bare_list_is_accepted(client_for, owner, agent):
    assert post(client_for(owner), [row(agent)]).status_code == 201
    assert AgentMetric.objects.count() == 1


@pytest.mark.parametrize("change, field", [
    ({"metric_type": "latency"}, "metric_type"),
    ({"unit": "seconds"}, "unit"),
    ({"value": 1_000_000}, "value"),
    ({"value": -1_000_000.5}, "value"),
    ({"value": 1.23456}, "value"),
    ({"value": "12.3.4"}, "value"),
    ({"value": True}, "value"),
    ({"value": None}, "value"),
    ({"metadata": [1, 2]}, "metadata"),
    ({"recorded_at": "yesterday"}, "recorded_at"),
    ({"recorded_at": "2026-11-20T12:00:00"}, "recorded_at"),
    ({"agent_id": "not-a-uuid"}, "agent_id"),
    ({"agent_id": None}, "agent_id"),
    ({"colour": "blue"}, None),
])
def test_each_kind_of_bad_row_is_listed_by_index_and_nothing_is_written(client_for, owner, agent, change, field):
    rows = [row(agent), row(agent), row(agent, **change), row(agent)]
    response = post(client_for(owner), rows)
    assert response.status_code == 400, response.content
    errors = response.json()["error"]["rows"]
    assert [(e["index"], e["field"]) for e in errors] == [(2, field)]
    assert errors[0]["message"]
    assert AgentMetric.objects.count() == 0


def test_a_row_that_is_not_an_object_is_listed(client_for, owner, agent):
    response = post(client_for(owner), [row(agent), "oops", 3])
    assert [e["index"] for e in response.json()["error"]["rows"]] == [1, 2]


def test_every_offending_row_is_listed_in_index_order(client_for, owner, agent):
    stranger_agent = factories.AgentFactory()
    rows = [row(agent) for _ in range(10)]
    rows[7] = row(agent, unit="bananas")
    rows[1] = row(stranger_agent)
    rows[4] = row(agent, value=1.00001, recorded_at="later")
    response = post(client_for(owner), rows)
    assert response.status_code == 400
    assert [(e["index"], e["field"]) for e in response.json()["error"]["rows"]] == [
        (1, "agent_id"), (4, "value"), (4, "recorded_at"), (7, "unit")]
    assert AgentMetric.objects.count() == 0


def test_agents_must_be_writable_not_only_visible(client_for):
    team = factories.TeamFactory()
    viewer = factories.UserRoleFactory(team=team, role=Role.VIEWER).user
    manager = factories.UserRoleFactory(team=team, role=Role.AGENT_MANAGER).user
    team_agent = factories.AgentFactory(team=team)
    assert post(client_for(viewer), [row(team_agent)]).status_code == 400
    assert post(client_for(manager), [row(team_agent)]).status_code == 201
    assert AgentMetric.objects.count() == 1


def test_limits_on_the_request_itself(client_for, owner, agent):
    client = client_for(owner)
    too_many = post(client, [row(agent)] * 10_001)
    assert too_many.status_code == 400 and "10000" in too_many.json()["error"]["message"]
    assert post(client, []).status_code == 400
    assert post(client, {"rows": "x"}).status_code == 400
    bad_json = client.post(URL, data=b"{nope", content_type="application/json")
    assert bad_json.status_code == 400 and "JSON" in bad_json.json()["error"]["message"]
    assert AgentMetric.objects.count() == 0


def test_anonymous_callers_are_refused(api_client, agent):
    assert post(api_client, [row(agent)]).status_code in (401, 403)


def test_ten_thousand_rows_in_one_request(client_for, owner, agent):
    rows = [row(agent, value=i / 4, recorded_at=(T0 + timedelta(seconds=i)).isoformat()) for i in range(10_000)]
    assert post(client_for(owner), rows).status_code == 201
    assert AgentMetric.objects.count() == 10_000
    assert AgentMetric.objects.order_by("-value").first().value == Decimal("2499.7500")


def test_the_number_of_queries_does_not_depend_on_the_rows(client_for, owner, agent):
    other = factories.AgentFactory(created_by=owner)
    client = client_for(owner)
    counts = []
    for size in (2, 500):
        rows = [row(agent if i % 2 else other) for i in range(size)]
        with CaptureQueriesContext(connection) as queries:
            assert post(client, rows).status_code == 201
        counts.append(len(queries))
    assert counts[0] == counts[1], counts
    assert counts[0] <= 4, counts  # writable agents, savepoint + release (COPY itself is not captured)
    assert AgentMetric.objects.count() == 502
