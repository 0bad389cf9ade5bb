"""The signed callback `POST /api/v1/hooks/n8n/`: HMAC valid/invalid/stale/replayed, bad input."""

from __future__ import annotations

import json
import time

import pytest

from notifications.models import AgentThought, Notification
from tests.hooks import LEGACY_SECRET, N8N_ID, SECRET, URL, payload, post
from workflows.models import Workflow, WorkflowExecution
from workflows.services.hooks import MAX_BODY_BYTES, sign

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("legacy_global_secret")]


def nothing_written():
    return not WorkflowExecution.objects.exists() and not Notification.objects.exists()


def test_valid_callback_records_the_execution(client, workflow):
    response = post(client, payload())
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "success" and response.json()["created"] is True
    execution = WorkflowExecution.objects.get()
    assert (execution.workflow_id, execution.execution_id, execution.output_data) == (
        workflow.pk, "13", [{"answer": 42}])  # one shape: a list of items (issue 18, point 4)
    assert execution.completed_at >= execution.started_at  # was 16-25 µs before it (point 3)
    workflow.refresh_from_db()
    assert (workflow.execution_count, workflow.success_count, workflow.error_count) == (1, 1, 0)


def test_replays_are_idempotent(client, workflow):
    body = json.dumps(payload(status="error", error={"message": "boom"})).encode()
    assert post(client, body).status_code == 201
    replay = post(client, body)
    assert replay.status_code == 200 and replay.json()["created"] is False
    workflow.refresh_from_db()
    assert (workflow.execution_count, workflow.error_count) == (1, 1)
    assert WorkflowExecution.objects.count() == 1
    assert Notification.objects.filter(type="agent_error").count() == 1


def test_failure_event_from_the_error_workflow(client, workflow):
    # wf-errhandler.json's body: event execution.failed, error object, last_node; no status
    body = payload(event="execution.failed", error={"message": "Bad gateway", "name": "NodeApiError"},
                   last_node="Notify platform")
    del body["status"]
    assert post(client, body).status_code == 201
    execution = WorkflowExecution.objects.get()
    assert execution.status == "error"
    assert execution.error_data == {"message": "Bad gateway", "name": "NodeApiError",
                                    "last_node": "Notify platform", "n8n_status": "error"}
    [note] = Notification.objects.filter(type="agent_error")
    assert note.priority == "high" and "Bad gateway" in note.message


def test_invalid_signature_is_401_and_writes_nothing(client, workflow):
    response = post(client, payload(), secret="another-secret")
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "X-Echelon-Signature does not match the body"
    assert list(response.json()["error"]["fields"]) == ["X-Echelon-Signature"]
    assert nothing_written()


@pytest.mark.parametrize("signature", [None, "", "sha1=abc", "sha256=xyz", "sha256=" + "0" * 63])
def test_missing_or_malformed_signature(client, workflow, signature):
    raw = json.dumps(payload()).encode()
    headers = {"X-Echelon-Workflow": N8N_ID} if signature is None else {
        "X-Echelon-Workflow": N8N_ID, "X-Echelon-Signature": signature}
    response = client.post(URL, raw, content_type="application/json", headers=headers)
    assert response.status_code == 401 and list(response.json()["error"]["fields"]) == ["X-Echelon-Signature"]
    assert nothing_written()


def test_stale_timestamp_is_rejected(client, workflow):
    response = post(client, payload(ts=int(time.time()) - 301))
    assert response.status_code == 401 and "more than 5 minutes" in response.json()["error"]["message"]
    assert post(client, payload(ts=int(time.time()) + 3600)).status_code == 401
    assert nothing_written()


def test_signed_timestamp_header(client, workflow):
    body = payload()
    del body["ts"]
    raw = json.dumps(body).encode()
    now = str(int(time.time()))
    ok = post(client, raw, signature=sign(raw, SECRET, now), headers={"X-Echelon-Timestamp": now})
    assert ok.status_code == 201
    # the timestamp is part of the signed message: a fresh timestamp on an old signature fails
    later = str(int(now) + 1)
    swapped = post(client, raw, signature=sign(raw, SECRET, now), headers={"X-Echelon-Timestamp": later})
    assert swapped.status_code == 401
    old = str(int(now) - 600)
    stale = post(client, raw, signature=sign(raw, SECRET, old), headers={"X-Echelon-Timestamp": old})
    assert stale.status_code == 401


def test_the_workflows_own_secret_and_not_the_legacy_global_one(client, workflow):
    assert post(client, payload(), secret=LEGACY_SECRET).status_code == 401
    assert post(client, payload(), secret=SECRET).status_code == 201


def test_a_row_without_a_secret_of_its_own_falls_back_to_the_legacy_global_secret(client, workflow, settings):
    Workflow.objects.filter(pk=workflow.pk).update(webhook_secret="")
    assert post(client, payload(), secret=SECRET).status_code == 401
    assert post(client, payload(), secret=LEGACY_SECRET).status_code == 201
    settings.N8N_WEBHOOK_SECRET = ""  # no legacy secret configured: such a row cannot be signed for
    response = post(client, payload(n8n_execution_id="14"), secret="")
    assert response.status_code == 401 and "rotate" in response.json()["error"]["message"]


def test_truncated_body(client, workflow):
    raw = json.dumps(payload()).encode()
    truncated = raw[:-5]
    # signed over the full body, sent truncated: the signature no longer matches
    assert post(client, truncated, signature=sign(raw, SECRET)).status_code == 401
    # signed as sent: not JSON
    response = post(client, truncated)
    assert response.status_code == 400 and response.json()["error"]["message"] == "body is not valid JSON"
    assert nothing_written()


@pytest.mark.parametrize("fields,field", [
    ({"n8n_execution_id": None}, "n8n_execution_id"),
    ({"n8n_execution_id": ["13"]}, "n8n_execution_id"),
    ({"status": "finished"}, "status"),
    ({"ts": "yesterday"}, "ts"),
    ({"error": 12}, "error"),
    ({"started_at": "not a date"}, "started_at"),
    ({"execution_time_ms": -1}, "execution_time_ms"),
    ({"thoughts": {"node_id": "a"}}, "thoughts"),
    ({"thoughts": [{"node_id": "a", "node_type": "input", "content": "x", "parent_node_id": "zz"}]},
     "thoughts[0].parent_node_id"),
])
def test_wrong_types_are_400_naming_the_field(client, workflow, fields, field):
    response = post(client, payload(**fields))
    assert response.status_code == 400, response.content
    assert list(response.json()["error"]["fields"]) == [field]
    assert nothing_written() and not AgentThought.objects.exists()


def test_non_object_body(client, workflow):
    assert post(client, [1, 2]).json()["error"]["message"] == "body must be a JSON object"


def test_huge_body_is_413(client, workflow):
    response = post(client, payload(output="x" * MAX_BODY_BYTES))
    assert response.status_code == 413
    assert nothing_written()


def test_unknown_workflow(client, workflow):
    response = post(client, payload(n8n_workflow_id="unknown"), n8n_id="unknown")
    assert response.status_code == 404 and list(response.json()["error"]["fields"]) == ["X-Echelon-Workflow"]
    assert nothing_written()


def test_the_workflow_is_named_by_the_header(client, workflow):
    body = payload()
    del body["n8n_workflow_id"]  # optional in the body; the header names the workflow
    assert post(client, body).status_code == 201
    missing = client.post(URL, json.dumps(payload()).encode(), content_type="application/json",
                          headers={"X-Echelon-Signature": sign(json.dumps(payload()).encode(), SECRET)})
    assert missing.status_code == 400 and list(missing.json()["error"]["fields"]) == ["X-Echelon-Workflow"]
    # a body naming another n8n workflow than the header (signed by this workflow's secret)
    other = post(client, payload(n8n_workflow_id="ci8N7gTduket1YpF", n8n_execution_id="77"))
    assert other.status_code == 400 and list(other.json()["error"]["fields"]) == ["n8n_workflow_id"]
    assert WorkflowExecution.objects.count() == 1


def test_callback_with_thoughts(client, workflow):
    thoughts = [
        {"node_id": "in", "node_type": "input", "content": "question"},
        {"node_id": "think", "node_type": "processing", "content": "search", "parent_node_id": "in",
         "confidence_score": 0.9, "processing_time_ms": 12},
    ]
    body = json.dumps(payload(thoughts=thoughts)).encode()
    assert post(client, body).json()["thoughts"] == 2
    assert post(client, body).json()["thoughts"] == 2  # replay: same nodes, still two rows
    assert sorted(AgentThought.objects.values_list("node_id", flat=True)) == ["in", "think"]
    assert set(AgentThought.objects.values_list("agent_id", flat=True)) == {workflow.agent_id}


def test_later_reports_fill_blanks_of_a_finished_execution(client, workflow):
    assert post(client, payload(output=None)).status_code == 201
    assert post(client, payload(output={"late": True}, input={"q": 1})).status_code == 200
    assert post(client, payload(output={"other": 1}, status="error")).status_code == 200
    execution = WorkflowExecution.objects.get()
    assert (execution.status, execution.output_data, execution.input_data) == ("success", [{"late": True}], [{"q": 1}])
    assert not Notification.objects.filter(type="agent_error").exists()


def test_hook_needs_no_csrf_token_nor_session(workflow):
    from django.test import Client

    response = post(Client(enforce_csrf_checks=True), payload())
    assert response.status_code == 201


def test_hook_query_count_is_fixed(client, workflow, django_assert_num_queries):
    post(client, payload(n8n_execution_id="1"))
    # a replay: find the workflow, savepoint, insert-or-nothing, lock the row, release
    with django_assert_num_queries(5):
        assert post(client, payload(n8n_execution_id="1")).status_code == 200


# --- issue 12, point 4: the signature is checked on the raw bytes first; failures are capped ---
def test_an_unsigned_body_is_refused_before_it_is_parsed(client, workflow):
    """Bodies that fail to parse (or nest 500,000 levels) are 401 unsigned: never read as JSON."""
    for raw in (b"{not json", b"[" * 500_000 + b"]" * 500_000, json.dumps(payload()).encode()):
        response = client.post(URL, raw, content_type="application/json", headers={"X-Echelon-Workflow": N8N_ID})
        assert response.status_code == 401, response.content[:200]
        badly_signed = post(client, raw, secret="wrong")
        assert badly_signed.status_code == 401, badly_signed.content[:200]
    assert nothing_written()


def test_unsigned_failures_are_capped_per_client(client, workflow, settings):
    settings.ECHELON_HOOK_FAILURES = 5
    junk = b"[" * 200_000 + b"]" * 200_000  # what a signed body would need seconds to walk
    attacker = {"REMOTE_ADDR": "203.0.113.7"}
    answers = [post(client, junk, signature="sha256=" + "0" * 64, **attacker).status_code for _ in range(5)]
    answers += [client.post(URL, junk, content_type="application/json", **attacker).status_code for _ in range(3)]
    assert answers == [401] * 5 + [429] * 3
    capped = post(client, junk, secret="wrong", **attacker)
    assert capped.status_code == 429 and int(capped["Retry-After"]) >= 1
    assert capped.json()["error"]["code"] == "throttled"
    assert "Too many unsigned or badly signed callbacks" in capped.json()["error"]["message"]
    # another client's signed callback is recorded
    assert post(client, payload(), REMOTE_ADDR="198.51.100.2").status_code == 201
    # and so is a signed callback from the capped address: in a shared n8n every tenant's
    # callbacks come from one host, so an unsigned flood must not block the signed ones
    assert post(client, payload(n8n_execution_id="14"), **attacker).status_code == 201
    assert WorkflowExecution.objects.count() == 2


def test_the_cap_counts_unknown_workflows_and_missing_headers_too(client, workflow, settings):
    settings.ECHELON_HOOK_FAILURES = 2
    raw = json.dumps(payload()).encode()
    assert post(client, raw, n8n_id="nope").status_code == 404
    assert client.post(URL, raw, content_type="application/json",
                       headers={"X-Echelon-Signature": sign(raw, SECRET)}).status_code == 400
    assert post(client, raw, n8n_id="nope").status_code == 429


@pytest.mark.parametrize("name", ["a\x00b", "x" * 256])
def test_a_workflow_header_no_row_can_hold_is_404_not_a_crash(client, workflow, name):
    response = post(client, payload(), n8n_id=name)
    assert response.status_code == 404 and list(response.json()["error"]["fields"]) == ["X-Echelon-Workflow"]
