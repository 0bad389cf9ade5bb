"""One focused test per bug the fuzzers found (the fix lives in the module named)."""

from __future__ import annotations

import json

import pytest

from monitoring.models import AgentMetric
from notifications.models import Notification
from tests import factories as f
from tests.api.clients import client_as
from tests.hooks import N8N_ID, SECRET, URL, payload
from workflows.models import WorkflowExecution
from workflows.services.hooks import sign

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("legacy_global_secret")]


@pytest.fixture
def owner():
    user = f.UserFactory()
    f.AgentFactory(created_by=user)
    return user


# --- echelon.api.exceptions.not_found (handler404) ---------------------------------------
def test_unmatched_api_url_is_a_json_404(owner):
    response = client_as(owner).get("/api/v1/agents/0.5/")  # the router's id pattern refuses dots
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "not_found"


def test_unmatched_url_outside_the_api_keeps_the_html_page(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404 and response["Content-Type"].startswith("text/html")


# --- echelon.dates / echelon.api.filters: offsets PostgreSQL refuses ------------------------
def test_time_filter_with_an_offset_beyond_postgresql_range_is_answered(owner):
    response = client_as(owner).get("/api/v1/agents/", {"created_after": "2000-01-01T00:00:00+20:07"})
    assert response.status_code == 200, response.content
    assert len(response.json()["results"]) == 1


def test_time_filter_out_of_python_range_in_utc_is_400_naming_it(owner):
    response = client_as(owner).get("/api/v1/notifications/", {"created_before": "0001-01-01T00:00:00+05:00"})
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith("created_before:")


def test_monitoring_window_with_a_far_offset(owner):
    client = client_as(owner)
    ok = client.get("/api/v1/api-usage/summary/", {"to": "2026-11-25T10:00:00+20:07"})
    assert ok.status_code == 200, ok.content
    bad = client.get("/api/v1/api-usage/summary/", {"to": "0001-01-01T00:00:00+05:00"})
    assert bad.status_code == 400 and bad.json()["error"]["message"].startswith("to:")


# --- echelon.api.pagination.StrictPageSize ------------------------------------------------
@pytest.mark.parametrize("url", ["/api/v1/agents/", "/api/v1/notifications/"])
@pytest.mark.parametrize("value", ["null", "0", "-3", "1.5"])
def test_bad_page_size_is_400(owner, url, value):
    response = client_as(owner).get(url, {"page_size": value})
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith("page_size:")


def test_empty_page_size_means_the_default(owner):
    assert client_as(owner).get("/api/v1/agents/", {"page_size": ""}).status_code == 200


# --- monitoring.api.filters.IntegerFilter -------------------------------------------------
def test_status_code_filter_must_be_an_integer(owner):
    client = client_as(owner)
    assert client.get("/api/v1/api-usage/", {"status_code": "0.5"}).status_code == 400
    assert client.get("/api/v1/api-usage/", {"status_code": "200"}).status_code == 200


# --- echelon.api.serializers: strings must be strings -------------------------------------
@pytest.mark.parametrize("url,body,field", [
    ("/api/v1/teams/", {"name": "T", "slug": 0}, "slug"),
    ("/api/v1/agents/", {"name": 5, "type": "market"}, "name"),
    ("/api/v1/users/me/", {"avatar_url": 0}, "avatar_url"),
])
def test_numbers_are_not_accepted_as_strings(owner, url, body, field):
    client = client_as(owner)
    method = client.patch if url.endswith("/me/") else client.post
    response = method(url, body, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["error"]["fields"][field] == ["Must be a string."]


# --- echelon.api.schema: what the schema now documents --------------------------------------
@pytest.fixture
def schema():
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)


def test_schema_documents_what_the_api_answers(schema):
    paths = schema["paths"]
    assert "404" in paths["/api/v1/agents/"]["get"]["responses"]  # page out of range
    assert "409" in paths["/api/v1/workflows/{id}/"]["delete"]["responses"]  # protected delete
    assert "429" in paths["/api/v1/agents/"]["get"]["responses"]  # tier quota
    # exempt from the tier quotas; its 429 is the cap on unsigned callbacks
    assert "unsigned" in paths["/api/v1/hooks/n8n/"]["post"]["responses"]["429"]["description"]
    created_after = next(p for p in paths["/api/v1/agents/"]["get"]["parameters"] if p["name"] == "created_after")
    assert created_after["allowEmptyValue"] is True
    assert list(paths["/api/v1/agents/"]["post"]["requestBody"]["content"]) == ["application/json"]


# --- workflows.services.hooks ---------------------------------------------------------------
def post_signed(client, body) -> tuple[int, dict]:
    raw = json.dumps(body).encode()
    response = client.post(URL, raw, content_type="application/json",
                           headers={"X-Echelon-Signature": sign(raw, SECRET), "X-Echelon-Workflow": N8N_ID})
    return response.status_code, response.json()


@pytest.mark.parametrize("changes,field", [
    ({"status": ["success"]}, "status"),                     # unhashable: TypeError
    ({"output": {"text": "a\x00b"}}, "output"),                # jsonb refuses \u0000
    ({"thoughts": [{"node_id": "n\x00", "node_type": "input", "content": "x"}]}, "thoughts"),
    ({"input": json.loads("[" * 150 + "]" * 150)}, "input"),  # deeper than 100 levels
])
def test_signed_callback_bad_content_is_400_and_writes_nothing(client, workflow, changes, field):
    status, body = post_signed(client, payload(**changes))
    assert status == 400, body
    assert field in body["error"]["fields"], body
    assert not WorkflowExecution.objects.exists() and not Notification.objects.exists()


def test_signed_callback_with_a_far_offset_is_stored_in_utc(client, workflow):
    status, _ = post_signed(client, payload(started_at="2026-11-25T10:00:00+20:07"))
    assert status == 201
    started = WorkflowExecution.objects.get().started_at
    assert started.isoformat() == "2026-11-24T13:53:00+00:00"


def post_signed_raw(client, raw: bytes) -> tuple[int, dict]:
    response = client.post(URL, raw, content_type="application/json",
                           headers={"X-Echelon-Signature": sign(raw, SECRET), "X-Echelon-Workflow": N8N_ID})
    return response.status_code, response.json()


def with_raw_field(name: str, raw_value: str) -> bytes:
    """A callback body whose `name` is written as is (JSON numbers Python's encoder never makes)."""
    body = json.dumps(payload()).encode()
    return body[:-1] + f', "{name}": {raw_value}}}'.encode()


# `make fuzz` (2,000 random callbacks) found `ts` = 10**400: the age arithmetic overflowed (a 500).
@pytest.mark.parametrize("raw_ts", ["1" + "0" * 400, "123456789012345678901234567890", "-99999999999999"])
def test_signed_callback_with_a_timestamp_out_of_range_is_400(client, workflow, raw_ts):
    status, body = post_signed_raw(client, with_raw_field("ts", raw_ts))
    assert status == 400, body
    assert body["error"]["fields"] == {"ts": ["ts (Unix seconds) is out of range"]}
    assert not WorkflowExecution.objects.exists()


# 1e999 parses as Infinity (as do the literals Infinity and NaN), which jsonb refuses.
@pytest.mark.parametrize("name,raw_value", [("ts", "1e999"), ("output", '{"v": 1e999}'), ("output", '{"v": NaN}'),
                                            ("input", "[-Infinity]")])
def test_signed_callback_with_a_number_json_cannot_store_is_400(client, workflow, name, raw_value):
    status, body = post_signed_raw(client, with_raw_field(name, raw_value))
    assert status == 400, body
    assert "number out of range (Infinity or NaN)" in body["error"]["message"]
    assert name in body["error"]["fields"]
    assert not WorkflowExecution.objects.exists() and not Notification.objects.exists()


def test_deeply_nested_body_is_400_not_a_crash(client, workflow):
    raw = b"[" * 200_000 + b"]" * 200_000
    response = client.post(URL, raw, content_type="application/json",
                           headers={"X-Echelon-Signature": sign(raw, SECRET), "X-Echelon-Workflow": N8N_ID})
    assert response.status_code == 400 and "nested" in response.json()["error"]["message"]




# --- echelon.jsonvalues: NUL characters and deep nesting in JSON written through the API ----------
@pytest.mark.parametrize("config", [{"a": "x\x00"}, {"k\x00": 1}, json.loads('{"a":' * 120 + "1" + "}" * 120)])
def test_template_config_postgresql_cannot_store_is_400(owner, config):
    response = client_as(owner).post("/api/v1/agent-templates/", {"name": "T", "type": "market",
                                                                  "default_config": config}, format="json")
    assert response.status_code == 400, response.content
    assert "default_config" in response.json()["error"]["fields"]


def test_agent_config_with_a_number_beyond_float_range_is_400(owner):
    agent = f.AgentFactory(created_by=owner)
    response = client_as(owner).patch(f"/api/v1/agents/{agent.pk}/", b'{"config": {"x": 1e999}}',
                                      content_type="application/json")
    assert response.status_code == 400, response.content
    assert "config" in response.json()["error"]["fields"]


def test_thought_batch_with_a_nul_character_is_400(owner):
    agent = f.AgentFactory(created_by=owner)
    execution = f.WorkflowExecutionFactory(workflow=f.WorkflowFactory(agent=agent))
    batch = [{"node_id": "n1", "node_type": "input", "content": "a\x00b"}]
    response = client_as(owner).post(f"/api/v1/workflow-executions/{execution.pk}/thoughts/", batch, format="json")
    assert response.status_code == 400, response.content
    assert "thoughts[0].content" in json.dumps(response.json()) or "[0].content" in json.dumps(response.json())


@pytest.mark.parametrize("row,field", [
    ({"metadata": {"note": "\x00"}}, "metadata"),
    ({"recorded_at": "0001-01-01T00:00:00+05:00"}, "recorded_at"),
])
def test_bulk_metrics_postgresql_cannot_store_are_400(owner, row, field):
    agent = f.AgentFactory(created_by=owner)
    body = [{"agent_id": str(agent.pk), "metric_type": "cost", "value": 1, **row}]
    response = client_as(owner).post("/api/v1/agent-metrics/bulk/", body, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["error"]["rows"][0]["field"] == field


def test_bulk_metrics_far_offset_is_stored_in_utc(owner):
    agent = f.AgentFactory(created_by=owner)
    body = [{"agent_id": str(agent.pk), "metric_type": "cost", "value": 1, "recorded_at": "2026-11-25T10:00:00+20:07"}]
    response = client_as(owner).post("/api/v1/agent-metrics/bulk/", body, format="json")
    assert response.status_code == 201, response.content
    stored = AgentMetric.objects.get(agent=agent)
    assert stored.recorded_at.isoformat() == "2026-11-24T13:53:00+00:00"  # the same instant, in UTC
    listed = client_as(owner).get("/api/v1/agent-metrics/", {"agent": str(agent.pk)}).json()["results"]
    assert [row["recorded_at"] for row in listed] == ["2026-11-24T13:53:00Z"]


# --- workflows.api: the update shape of deployments and workflows in the schema ---------------
@pytest.mark.parametrize("path,component", [("/api/v1/workflows/{id}/", "WorkflowUpdateRequest")])
def test_put_does_not_require_the_agent_fixed_at_creation(schema, path, component):
    body = schema["paths"][path]["put"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["$ref"].endswith(component)
    assert "agent" not in schema["components"]["schemas"][component].get("required", [])


def test_deployments_take_no_put_at_all(owner):
    """Issue 19: deployments change only through their state machine (stop), not by PUT."""
    deployment = f.DeploymentFactory(agent=f.AgentFactory(created_by=owner))
    response = client_as(owner).put(f"/api/v1/deployments/{deployment.pk}/", {}, format="json")
    assert response.status_code == 405, response.content


# --- echelon.api.filters.OrderingFilter ---------------------------------------------------------
@pytest.mark.parametrize("url,known", [("/api/v1/agents/", "-created_at"), ("/api/v1/team-roles/", "-granted_at"),
                                       ("/api/v1/workflows/", "name,-created_at")])
def test_unknown_ordering_is_400_naming_it(owner, url, known):
    response = client_as(owner).get(url, {"ordering": "nmae"})
    assert response.status_code == 400, response.content
    assert response.json()["error"]["message"].startswith("ordering: unknown field 'nmae'")
    assert client_as(owner).get(url, {"ordering": known}).status_code == 200
    assert client_as(owner).get(url, {"ordering": ""}).status_code == 200
