"""JSON 4xx, never a 500 or an HTML page, for paging and body-size input (issue 12, point 11).

As found against a live daphne: a cursor whose timestamp has an offset beyond ±15:59 was a 500
on the five time series; `?page=` with 30 nines a 500 on agents; any body over 2.5 MiB Django's
HTML 400 (RequestDataTooBig), the documented 10,000-row bulk metrics request with metadata
included. Now: 400 naming `cursor`, 404 past the last page, 413 naming the limit, and the bulk
request fits. A hypothesis property test walks the same families over every list endpoint.
"""

from __future__ import annotations

import base64
import json
import os
from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import urlencode

import httpx
import pytest
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st
from rest_framework.test import APIClient

from echelon.auth.tokens import access_token_for
from monitoring.models import AgentMetric
from tests import factories as f
from tests.monitoring.servers import DaphneServer, bearer

TIME_SERIES = ["workflow-executions", "notifications", "agent-thoughts", "agent-metrics", "api-usage"]
CATALOGUES = ["teams", "team-roles", "users", "agents", "agent-templates", "deployments", "workflows"]
MIB = 1024 * 1024


def cursor(position, offset=0, reverse=0) -> str:
    """A cursor as DRF encodes one (base64 of o=&r=&p=), with any position."""
    return base64.b64encode(urlencode({"o": offset, "r": reverse, "p": position}).encode()).decode()


def assert_json_error(response, status_codes):
    assert response.status_code in status_codes, (response.status_code, response.content[:300])
    assert response.headers["Content-Type"].startswith("application/json"), response.content[:300]
    if response.status_code >= 400:
        assert response.json()["error"]["message"]


def bulk_rows(agent, count: int) -> list[dict]:
    """The README's bulk request: rows with metadata (the bench's shape plus a region)."""
    start = datetime(2026, 11, 1, tzinfo=UTC)
    return [{"agent_id": str(agent.pk), "metric_type": "response_time", "value": 1234.5678, "unit": "ms",
             "metadata": {"run": i % 10, "host": "worker-1", "region": "eu-west-1"}, "recorded_at": (start + timedelta(seconds=i)).isoformat()}
            for i in range(count)]


@pytest.fixture
def seeded(db):
    user = f.UserFactory(is_superuser=True, is_staff=True)
    f.NotificationFactory(user=user)
    f.AgentMetricFactory()
    f.AgentThoughtFactory()
    f.WorkflowExecutionFactory()
    f.ApiUsageFactory(user=user)
    return user


@pytest.mark.django_db(transaction=True)
def test_live_as_found(seeded):
    user, agent = seeded, f.AgentFactory(created_by=seeded)
    server = DaphneServer(ECHELON_METERING="0")
    try:
        with httpx.Client(base_url=server.url, headers=bearer(user), timeout=120) as http:
            for name in TIME_SERIES:
                response = http.get(f"/api/v1/{name}/", params={"cursor": cursor("2026-11-25 10:00:00+20:07")})
                assert_json_error(response, {400})
                assert response.json()["error"]["fields"] == {"cursor": [response.json()["error"]["fields"]["cursor"][0]]}
            assert_json_error(http.get("/api/v1/agents/", params={"page": "9" * 30}), {404})

            # The documented bulk request: 10,000 rows with metadata, pretty-printed (2.72 MiB).
            body = json.dumps(bulk_rows(agent, 10_000), indent=2).encode()
            assert 2.5 * MIB < len(body) < 3 * MIB
            response = http.post("/api/v1/agent-metrics/bulk/", content=body,
                                 headers={"Content-Type": "application/json"})
            assert response.status_code == 201, response.text[:500]
            assert response.json() == {"inserted": 10_000}

            # Over a limit: 413 in the API's JSON, naming it (the default, then the bulk one).
            big = b'{"name": "' + b"x" * (3 * MIB) + b'", "type": "market"}'
            response = http.post("/api/v1/agents/", content=big, headers={"Content-Type": "application/json"})
            assert_json_error(response, {413})
            assert response.json()["error"]["limit_bytes"] == 5 * MIB // 2
            assert "2.5 MiB" in response.json()["error"]["message"]
            huge = b"[" + b" " * (17 * MIB) + b"]"
            response = http.post("/api/v1/agent-metrics/bulk/", content=huge, headers={"Content-Type": "application/json"})
            assert_json_error(response, {413})
            assert response.json()["error"]["limit_bytes"] == 16 * MIB

            # Chunked (no Content-Length): the buffered size counts.
            def chunks():
                for _ in range(3):
                    yield b" " * MIB

            response = http.post("/api/v1/agents/", content=chunks(), headers={"Content-Type": "application/json"})
            assert "content-length" not in response.request.headers
            assert_json_error(response, {413})
    finally:
        server.kill()
    assert AgentMetric.objects.filter(agent=agent).count() == 10_000


@pytest.fixture
def api(seeded):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access_token_for(seeded)}")
    client.raise_request_exception = False  # a 500 must be seen as a response, not raised here
    return client


@pytest.mark.parametrize("name", TIME_SERIES)
@pytest.mark.parametrize("position", [
    "2026-11-25 10:00:00+20:07", "2026-11-25T10:00:00-16:00", "2026-11-25 10:00:00",  # naive: never issued
    "junk", "", "2026-11-25\x00",
])
def test_a_cursor_position_that_is_not_a_valid_value_is_400_naming_cursor(api, name, position):
    response = api.get(f"/api/v1/{name}/", {"cursor": cursor(position)})
    assert_json_error(response, {400})
    assert "cursor" in response.json()["error"]["fields"]


@pytest.mark.parametrize("name", TIME_SERIES)
def test_the_cursors_the_server_issues_still_work(api, name):
    first = api.get(f"/api/v1/{name}/", {"page_size": 1})
    assert first.status_code == 200
    for link in (first.json()["next"], first.json()["previous"]):
        if link:
            assert api.get(link).status_code == 200
    issued = cursor("2026-11-25 10:00:00.123456+00:00", offset=1)
    assert api.get(f"/api/v1/{name}/", {"cursor": issued}).status_code == 200


@pytest.mark.parametrize("name", CATALOGUES)
@pytest.mark.parametrize("page", ["9" * 30, str(2**63), str(2**62), "-1", "0", "1e5", "abc", "\x00"])
def test_any_page_number_is_200_or_a_json_404(api, name, page):
    assert_json_error(api.get(f"/api/v1/{name}/", {"page": page}), {200, 404})


def test_a_body_over_djangos_limit_read_in_a_view_is_a_json_413(api, settings):
    """The backstop: RequestDataTooBig raised where a view reads `request.body` (the n8n callback
    does) is the same JSON 413, not Django's HTML 400."""
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000  # below the middleware's limit, so the view meets it
    response = APIClient().post("/api/v1/hooks/n8n/", b"{" + b" " * 2000 + b"}", content_type="application/json")
    assert_json_error(response, {413})
    assert response.json()["error"] == {"code": "body_too_large", "message": response.json()["error"]["message"],
                                        "fields": {}, "limit_bytes": 1000}


def test_djangos_400_and_500_handlers_answer_json_under_api_only():
    from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
    from django.test import RequestFactory

    from echelon.api.exceptions import bad_request, server_error

    factory = RequestFactory()
    assert bad_request(factory.post("/api/v1/agents/"), RequestDataTooBig("x")).status_code == 413
    answer = bad_request(factory.get("/api/v1/agents/"), SuspiciousOperation("x"))
    assert answer.status_code == 400 and json.loads(answer.content)["error"]["code"] == "bad_request"
    answer = server_error(factory.get("/api/v1/agents/"))
    assert answer.status_code == 500 and answer["Content-Type"] == "application/json"
    assert server_error(factory.get("/login/"))["Content-Type"].startswith("text/html")


# --- property test: any page, page_size or cursor, on every list endpoint -----------------------
RANDOM = os.environ.get("ECHELON_FUZZ_RANDOM") == "1"
FUZZ = hypothesis_settings(
    max_examples=int(os.environ.get("ECHELON_FUZZ_EXAMPLES", "8")) * 5, deadline=None,
    derandomize=not RANDOM, database=hypothesis_settings().database if RANDOM else None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
offsets = st.integers(min_value=-(24 * 60 - 1), max_value=24 * 60 - 1).map(lambda m: timezone(timedelta(minutes=m)))
positions = (
    st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=offsets).map(str)
    | st.datetimes(timezones=offsets).map(lambda d: d.isoformat())
    | st.text(max_size=40)
    | st.integers().map(str)
)
numbers = st.integers().map(str) | st.text(max_size=12) | st.just("9" * 30)


@FUZZ
@given(name=st.sampled_from(TIME_SERIES + CATALOGUES), position=positions, offset=numbers,
       reverse=st.sampled_from(["0", "1", "2", "x"]), page=numbers, page_size=numbers,
       which=st.sampled_from(["cursor", "page", "page_size", "raw_cursor"]))
def test_paging_input_never_answers_a_500_or_html(api, name, position, offset, reverse, page, page_size, which):
    params = {
        "cursor": {"cursor": cursor(position, offset, reverse)},
        "page": {"page": page},
        "page_size": {"page_size": page_size},
        "raw_cursor": {"cursor": position},
    }[which]
    assert_json_error(api.get(f"/api/v1/{name}/", params), {200, 400, 404})
