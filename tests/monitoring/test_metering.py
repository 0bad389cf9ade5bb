"""API usage metering in-process: the fields of each row, route patterns, prices, the buffer bound.

The background flusher is off in the test process; `flush()` writes the buffered rows with the
real COPY path on the test's connection, inside the test's transaction.
"""

from __future__ import annotations

import time
import uuid
from decimal import Decimal

import pytest
from django.utils import timezone

from monitoring import metering
from monitoring.metering import normalize_route, recorder
from monitoring.models import ApiUsage
from tests import factories

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.monitoring.urls")]


def flushed_rows():
    written = metering.flush()
    rows = list(ApiUsage.objects.order_by("created_at"))
    assert written == len(rows), "every flushed row is in api_usage"
    return rows


@pytest.mark.parametrize("route, expected", [
    ("api/v1/agents/<uuid:pk>/", "/api/v1/agents/{id}/"),
    ("api/v1/agents/<uuid:agent_id>/thoughts/<str:node_id>/", "/api/v1/agents/{agent_id}/thoughts/{node_id}/"),
    ("api/v1/agents/(?P<pk>[^/.]+)/$", "/api/v1/agents/{id}/"),
    ("api/v1/agents/(?P<pk>[^/.]+)\\.(?P<format>[a-z0-9]+)/?$", "/api/v1/agents/{id}.{format}/"),
    ("api/v1/agents/(?P<pk>(?:[0-9a-f]{8})-[0-9a-f-]+)/deploy/$", "/api/v1/agents/{id}/deploy/"),
    ("api/v1/agent-metrics/bulk/", "/api/v1/agent-metrics/bulk/"),
])
def test_route_patterns_are_normalized(route, expected):
    assert normalize_route(route) == expected


def test_a_request_records_user_agent_route_method_status_time_and_cost(client_for, user):
    agent = factories.AgentFactory(created_by=user)
    before = timezone.now()
    response = client_for(user).get(
        "/api/v1/agent-metrics/aggregate/", {"agent": str(agent.pk), "metric_type": "response_time"}
    )
    assert response.status_code == 200, response.content
    [row] = flushed_rows()
    assert row.user_id == user.pk
    assert row.agent_id == agent.pk
    assert row.endpoint == "/api/v1/agent-metrics/aggregate/"
    assert row.method == "GET"
    assert row.status_code == 200
    assert 0 <= row.response_time_ms < 10_000
    assert row.cost_usd == Decimal("0.0010")  # settings.ECHELON_API_PRICES
    assert before - timezone.timedelta(seconds=1) <= row.created_at <= timezone.now()


def test_router_routes_record_the_pattern_and_the_agent_they_name(client_for, user):
    agent = factories.AgentFactory(created_by=user)
    client = client_for(user)
    assert client.get(f"/api/v1/agents/{agent.pk}/").status_code == 200
    assert client.get(f"/api/v1/agents/{agent.pk}.json").status_code == 200
    assert client.get(f"/api/v1/agents/{agent.pk}/thoughts/n1/").status_code == 200
    assert client.get("/api/v1/agents/").status_code == 200
    rows = flushed_rows()
    assert [(r.endpoint, r.agent_id) for r in rows] == [
        ("/api/v1/agents/{id}/", agent.pk),
        ("/api/v1/agents/{id}.{format}/", agent.pk),
        ("/api/v1/agents/{agent_id}/thoughts/{node_id}/", agent.pk),
        ("/api/v1/agents/", None),
    ]


def test_an_agent_id_that_does_not_exist_is_recorded_without_agent(client_for, user):
    client_for(user).get(f"/api/v1/agents/{uuid.uuid4()}/")
    client_for(user).get("/api/v1/agents/not-a-uuid/")
    rows = flushed_rows()
    assert [(r.endpoint, r.agent_id, r.user_id) for r in rows] == [
        ("/api/v1/agents/{id}/", None, user.pk), ("/api/v1/agents/{id}/", None, user.pk),
    ]


def test_anonymous_and_unknown_routes_are_recorded(api_client):
    assert api_client.get("/api/v1/agent-metrics/aggregate/").status_code in (401, 403)
    assert api_client.get("/api/v1/no-such-thing/").status_code == 404
    assert api_client.get("/admin/").status_code == 404  # not under /api/: not metered
    rows = flushed_rows()
    assert [(r.user_id, r.endpoint, r.status_code) for r in rows] == [
        (None, "/api/v1/agent-metrics/aggregate/", 401),
        (None, metering.UNMATCHED_ENDPOINT, 404),
    ]


def test_errors_are_recorded_with_their_status(client_for, user):
    response = client_for(user).get("/api/v1/agent-metrics/aggregate/", {"metric_type": "nope"})
    assert response.status_code == 400
    [row] = flushed_rows()
    assert (row.status_code, row.method, row.user_id) == (400, "GET", user.pk)


def test_prices_come_from_the_route_table_method_first(client_for, user, settings):
    settings.ECHELON_API_PRICES = {"GET /api/v1/agents/{id}/": "0.0025", "/api/v1/agents/{id}/": "0.5"}
    agent = factories.AgentFactory(created_by=user)
    client = client_for(user)
    client.get(f"/api/v1/agents/{agent.pk}/")
    client.post(f"/api/v1/agents/{agent.pk}/")  # 405, still metered, priced by the any-method entry
    client.get("/api/v1/agents/")
    assert [(r.method, r.cost_usd) for r in flushed_rows()] == [
        ("GET", Decimal("0.0025")), ("POST", Decimal("0.5000")), ("GET", Decimal("0.0000")),
    ]


def test_metering_off_records_nothing(client_for, user, settings):
    settings.ECHELON_METERING = False
    client_for(user).get("/api/v1/agents/")
    assert recorder.pending() == 0
    assert metering.flush() == 0


def test_a_full_buffer_drops_the_oldest_rows_and_counts_them(user, settings):
    settings.ECHELON_METERING_BUFFER_SIZE = 3
    dropped = recorder.dropped
    for status in (201, 202, 203, 204, 205):
        recorder.record(user.pk, None, "/api/v1/x/", "GET", status, 1, Decimal("0"), time.time())
    assert recorder.dropped - dropped == 2
    assert [r.status_code for r in flushed_rows()] == [203, 204, 205]


def test_rows_of_a_user_deleted_before_the_flush_are_dropped_not_failing_the_batch(settings):
    gone, kept = factories.UserFactory(), factories.UserFactory()
    for owner in (gone, kept):
        recorder.record(owner.pk, None, "/api/v1/x/", "GET", 200, 1, Decimal("0"), time.time())
    gone.delete()
    assert [r.user_id for r in flushed_rows()] == [kept.pk]


def test_flush_writes_in_batches(user, settings):
    settings.ECHELON_METERING_BATCH_SIZE = 7
    for _ in range(20):
        recorder.record(user.pk, None, "/api/v1/x/", "GET", 200, 1, Decimal("0"), time.time())
    assert len(flushed_rows()) == 20
    assert recorder.pending() == 0


def test_a_batch_the_database_rejects_is_dropped_and_later_rows_still_flow(user):
    dropped = recorder.dropped
    recorder.record(user.pk, None, "/api/v1/x/", "GET", 200, 1, Decimal("123456.0"), time.time())  # > DECIMAL(8,4)
    assert metering.flush() == 0
    assert recorder.dropped - dropped == 1
    recorder.record(user.pk, None, "/api/v1/x/", "GET", 200, 1, Decimal("0"), time.time())
    assert len(flushed_rows()) == 1


def test_an_overlong_method_is_cut_to_the_column(client_for, user):
    client_for(user).generic("PROPFINDEXTENDED", "/api/v1/agents/")
    [row] = flushed_rows()
    assert (row.method, row.status_code) == ("PROPFINDEX", 405)


def test_prices_outside_the_column_range_are_a_configuration_error(settings):
    from django.core.exceptions import ImproperlyConfigured

    settings.ECHELON_API_PRICES = {"/api/v1/x/": "10000"}
    with pytest.raises(ImproperlyConfigured, match="/api/v1/x/"):
        metering.price_for("GET", "/api/v1/x/")


def test_the_middleware_meters_in_async_mode_too(user, rf):
    import asyncio

    from django.http import JsonResponse
    from django.urls import resolve

    from monitoring.middleware import ApiUsageMiddleware

    async def view_chain(request):
        request.user = user  # what DRF's authentication leaves on the Django request
        return JsonResponse({"ok": True}, status=202)

    middleware = ApiUsageMiddleware(view_chain)
    agent = factories.AgentFactory(created_by=user)
    request = rf.get(f"/api/v1/agents/{agent.pk}/")
    request.resolver_match = resolve(request.path)
    response = asyncio.run(middleware(request))
    assert response.status_code == 202
    [row] = flushed_rows()
    assert (row.user_id, row.agent_id, row.endpoint, row.status_code) == (
        user.pk, agent.pk, "/api/v1/agents/{id}/", 202)
