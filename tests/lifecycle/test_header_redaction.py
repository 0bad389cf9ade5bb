"""Issue 12, point 8: secret request headers from n8n are redacted at ingestion, in every path.

n8n's webhook trigger items carry every header of the call that started the run (recorded:
`execution_success_includeData.json`, `runData.Webhook[0].data.main[0][0].json.headers`); with
header auth (`wf-auth.json`) the token is one of them. The sync and the signed callback both
store executions through `execution_record`; neither may store, nor the API serve, a secret.
"""

from __future__ import annotations

import copy
import json
import time

import pytest
from django.test import Client

from echelon.redaction import REDACTED
from tests.api.clients import client_as
from notifications.models import AgentThought
from tests.factories import AgentFactory, WorkflowExecutionFactory, WorkflowFactory
from tests.lifecycle.fake_n8n import recording
from workflows.models import WorkflowExecution
from workflows.services.hooks import sign
from workflows.services.sync import n8n_sync
from workflows.services.thoughts import thoughts_ingest

pytestmark = pytest.mark.django_db

N8N_ID = "ci8N7gTduket1YpF"
SECRET_HEADERS = {
    "authorization": "Bearer eyJhbGciOiJIUzI1NiJ9.c2VjcmV0.sig", "cookie": "n8n-auth=abc; theme=dark",
    "x-webhook-token": "inbound-token-123", "x-api-key": "k-456", "X-Custom-Secret": "s-789",
    "x-refresh-token": "r-000", "proxy-authorization": "Basic dXNlcjpwdw==", "x-tenant-pin": "4242",
}
PLAIN_HEADERS = {"host": "127.0.0.1:5678", "user-agent": "curl/7.88.1", "accept": "*/*",
                 "content-type": "application/json", "content-length": "36"}


@pytest.fixture(autouse=True)
def configured_header(settings):
    settings.ECHELON_REDACTED_HEADERS = ["X-Tenant-Pin"]  # the configurable list, any case


def header_auth_run(ident: int) -> dict:
    """The recorded success run as n8n stores it when the webhook was called with secrets."""
    run = copy.deepcopy(recording("execution_success_includeData.json"))
    run["id"] = str(ident)
    item = run["data"]["resultData"]["runData"]["Webhook"][0]["data"]["main"][0][0]["json"]
    assert set(item["headers"]) == set(PLAIN_HEADERS)  # the recorded shape
    item["headers"].update(SECRET_HEADERS)
    return run


def assert_redacted(headers: dict) -> None:
    assert {name: headers[name] for name in SECRET_HEADERS} == dict.fromkeys(SECRET_HEADERS, REDACTED)
    assert {name: headers[name] for name in PLAIN_HEADERS} == PLAIN_HEADERS


def test_the_sync_stores_and_serves_no_secret_header(n8n_client, fake_n8n):
    workflow = WorkflowFactory(agent=AgentFactory(), n8n_workflow_id=N8N_ID)
    fake_n8n.add_execution(header_auth_run(60))
    assert n8n_sync(client=n8n_client).errors == []
    stored = WorkflowExecution.objects.get(workflow=workflow, execution_id="60")
    assert_redacted(stored.input_data[0]["headers"])
    assert stored.input_data[0]["body"] == {"agent_run": "r-1", "prompt": "hello"}
    served = client_as(workflow.agent.created_by).get(f"/api/v1/workflow-executions/{stored.pk}/")
    assert served.status_code == 200
    text = served.content.decode()
    assert all(value not in text for value in SECRET_HEADERS.values())
    assert_redacted(served.json()["input_data"][0]["headers"])


def test_the_signed_callback_stores_no_secret_header():
    workflow = WorkflowFactory(agent=AgentFactory(), n8n_workflow_id=N8N_ID, webhook_secret="cb-secret")
    trigger_item = {"headers": {**PLAIN_HEADERS, **SECRET_HEADERS}, "params": {}, "query": {}, "body": {"a": 1}}
    # wf1.json sends `input: $json.body ?? $json`: the whole trigger item, headers and all
    body = json.dumps({"n8n_workflow_id": N8N_ID, "n8n_execution_id": "61", "ts": int(time.time()),
                       "status": "error", "input": trigger_item, "output": [{"echo": trigger_item}],
                       "error": {"message": "boom", "context": {"request": {"headers": dict(SECRET_HEADERS)}}}}
                      ).encode()
    response = Client().post("/api/v1/hooks/n8n/", body, content_type="application/json", headers={
        "X-Echelon-Signature": sign(body, "cb-secret"), "X-Echelon-Workflow": N8N_ID})
    assert response.status_code == 201, response.content
    stored = WorkflowExecution.objects.get(workflow=workflow, execution_id="61")
    assert_redacted(stored.input_data[0]["headers"])
    assert_redacted(stored.output_data[0]["echo"]["headers"])
    assert set(stored.error_data["context"]["request"]["headers"].values()) == {REDACTED}
    assert all(value not in json.dumps([stored.input_data, stored.output_data, stored.error_data])
               for value in SECRET_HEADERS.values())


def test_redact_headers_knows_n8ns_header_shapes():
    from echelon.redaction import redact_headers

    # the HTTP Request node's parameters (wf-hmac.json's Callback node) and an error's request
    node = copy.deepcopy(next(n for n in recording("wf-hmac.json")["nodes"] if n["name"] == "Callback"))
    node["parameters"]["headerParameters"]["parameters"].append({"name": "X-Webhook-Token", "value": "t"})
    value = {"node": node, "Headers": {"Set-Cookie": ["a=1", "b=2"], "accept": "*/*"}}
    assert redact_headers(value) is value  # in place
    pairs = node["parameters"]["headerParameters"]["parameters"]
    assert [pair["value"] for pair in pairs] == [REDACTED, REDACTED]  # X-Echelon-Signature too
    assert value["Headers"] == {"Set-Cookie": REDACTED, "accept": "*/*"}
    # a "token" outside any headers object is ordinary data (e.g. an LLM's token count)
    assert redact_headers({"usage": {"token": 12}}) == {"usage": {"token": 12}}
    deep = current = {}
    for _ in range(50_000):  # deeper than any recursion could go
        current["a"] = {}
        current = current["a"]
    current["headers"] = {"authorization": "x"}
    redact_headers(deep)
    assert current["headers"] == {"authorization": REDACTED}


def test_thought_metadata_stores_no_secret_header():
    """A node may record the request that reached it in its thought's metadata (issue 12's leftover)."""
    execution = WorkflowExecutionFactory()
    thoughts_ingest(execution=execution, agent_id=execution.workflow.agent_id, thoughts=[{
        "node_id": "fetch", "node_type": "action", "content": "called the webhook",
        "metadata": {"request": {"headers": {**PLAIN_HEADERS, **SECRET_HEADERS}}, "step": 1}}])
    stored = AgentThought.objects.get(execution=execution, node_id="fetch").metadata
    assert_redacted(stored["request"]["headers"])
    assert stored["step"] == 1
