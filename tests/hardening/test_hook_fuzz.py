"""Fuzzing the n8n callback `POST /api/v1/hooks/n8n/` with hypothesis.

tests/lifecycle/test_hooks.py has one example per rule; here generated input: bad signatures,
random bytes, truncated bodies, random JSON values in every field of a correctly signed body,
bodies over the limit and deeply nested ones. Whatever arrives: never a 5xx, and a 4xx writes
nothing (executions, thoughts, notifications and the workflow's counters unchanged).
"""

from __future__ import annotations

import json
import os
import time

import pytest
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st

from notifications.models import AgentThought, Notification
# The callback's helpers and fixtures (global secret, a linked workflow) are the lifecycle tests'.
from tests.hooks import N8N_ID, SECRET, URL, payload
from workflows.models import Workflow, WorkflowExecution
from workflows.services.hooks import MAX_BODY_BYTES, sign

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("legacy_global_secret")]

# CI: 60 examples per rule, the same every run; `make fuzz` (ECHELON_FUZZ_RANDOM=1): 2,000, random.
RANDOM = os.environ.get("ECHELON_FUZZ_RANDOM") == "1"
FUZZ = hypothesis_settings(
    max_examples=int(os.environ.get("ECHELON_FUZZ_HOOK_EXAMPLES", "60")), deadline=None,
    derandomize=not RANDOM, database=hypothesis_settings().database if RANDOM else None,
    # The test database and client are per test, on purpose: every example must leave them as found.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                           HealthCheck.data_too_large],
)
FIELDS = ["event", "status", "n8n_execution_id", "n8n_workflow_id", "ts", "input", "output", "error",
          "last_node", "started_at", "stopped_at", "execution_time_ms", "thoughts"]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
# Values that look almost right: edge dates and offsets, NUL characters, huge numbers.
tricky = st.sampled_from([
    "", "\x00", "a\x00b", "2026-11-25T10:00:00+20:07", "0001-01-01T00:00:00+05:00",
    "9999-12-31T23:59:59-05:00", "2026-13-45T99:99:99Z", "Infinity", 2**63, -(2**63), 10**400,
    1e308, -1, 0, True, [], {}, {"message": "\x00"}, [{"node_id": "\x00"}],
    [{"node_id": "a", "node_type": "processing", "content": "x", "parent_node_id": "a"}],
    [{"node_id": "a", "node_type": "processing", "content": "x", "confidence_score": 7}],
])
field_values = json_values | tricky


@pytest.fixture(autouse=True)
def no_failure_cap(settings):
    """Thousands of unsigned examples from one address: the cap (tested in test_hooks) aside."""
    settings.ECHELON_HOOK_FAILURES = 10**9


def snapshot(workflow) -> tuple:
    workflow = Workflow.objects.get(pk=workflow.pk)
    return (WorkflowExecution.objects.count(), AgentThought.objects.count(), Notification.objects.count(),
            workflow.execution_count, workflow.success_count, workflow.error_count, workflow.last_execution)


def send(client, workflow, raw: bytes, headers: dict) -> int:
    before = snapshot(workflow)
    response = client.post(URL, raw, content_type="application/json",
                           headers={"X-Echelon-Workflow": N8N_ID, **headers})
    assert response.status_code < 500, (response.status_code, raw[:300], response.content[:300])
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    if response.status_code >= 400:
        assert snapshot(workflow) == before, (response.status_code, raw[:300])
        error = response.json()["error"]
        assert error["message"], error
    return response.status_code


@FUZZ
@given(raw=st.binary(max_size=2048), signature=st.one_of(
    st.none(), st.text(max_size=80), st.from_regex(r"\Asha256=[0-9a-f]{64}\Z")))
def test_unsigned_or_badly_signed_bytes_are_refused(client, workflow, raw, signature):
    headers = {} if signature is None else {"X-Echelon-Signature": signature}
    assert send(client, workflow, raw, headers) == 401  # whatever the bytes: never parsed


@FUZZ
@given(cut=st.integers(min_value=0, max_value=400), sign_truncated=st.booleans())
def test_truncated_bodies_are_refused(client, workflow, cut, sign_truncated):
    raw = json.dumps(payload(thoughts=[{"node_id": "n1", "node_type": "input", "content": "start"}])).encode()
    truncated = raw[: min(cut, len(raw) - 1)]
    # Signed over the whole body (a proxy cut it) or over the cut one (the sender cut it).
    signature = sign(truncated if sign_truncated else raw, SECRET)
    assert send(client, workflow, truncated, {"X-Echelon-Signature": signature}) in (400, 401)


@FUZZ
@given(changes=st.dictionaries(st.sampled_from(FIELDS), field_values, min_size=1, max_size=4),
       extra=st.dictionaries(st.text(max_size=10), json_values, max_size=3))
def test_signed_bodies_with_wrong_types_never_fail_the_server(client, workflow, changes, extra):
    # A correct signature: only the content is wrong, which reaches the deepest checks.
    body = {**extra, **payload(), **changes}
    raw = json.dumps(body).encode()
    status = send(client, workflow, raw, {"X-Echelon-Signature": sign(raw, SECRET)})
    assert status in (200, 201, 400, 401, 404, 413), status


@FUZZ
@given(value=json_values)
def test_signed_non_object_json_is_400(client, workflow, value):
    if isinstance(value, dict):
        value = [value]
    raw = json.dumps(value).encode()
    assert send(client, workflow, raw, {"X-Echelon-Signature": sign(raw, SECRET)}) == 400


@pytest.mark.parametrize("size", [MAX_BODY_BYTES + 1, 4 * MAX_BODY_BYTES])
def test_huge_signed_bodies_are_413(client, workflow, size):
    body = payload(output={"blob": ""})
    filler = size - len(json.dumps(body).encode())
    body["output"]["blob"] = "x" * filler
    raw = json.dumps(body).encode()
    assert len(raw) == size
    assert send(client, workflow, raw, {"X-Echelon-Signature": sign(raw, SECRET)}) == 413


@pytest.mark.parametrize("depth", [1_000, 100_000, 500_000])
def test_deeply_nested_signed_json_is_400(client, workflow, depth):
    """Python's JSON parser recurses: deep nesting within the size limit must not crash a worker."""
    raw = ("[" * depth + "]" * depth).encode()
    assert len(raw) <= MAX_BODY_BYTES
    assert send(client, workflow, raw, {"X-Echelon-Signature": sign(raw, SECRET)}) == 400
    nested = b'{"n8n_workflow_id": "9qAE7S1t2kkV2PNZ", "n8n_execution_id": "1", "ts": %d, "output": %s}' % (
        int(time.time()), raw)
    assert send(client, workflow, nested, {"X-Echelon-Signature": sign(nested, SECRET)}) in (400, 201)


def test_fuzzing_leaves_valid_callbacks_working(client, workflow):
    """The control: after the rules above, a valid signed callback is still recorded."""
    raw = json.dumps(payload()).encode()
    assert send(client, workflow, raw, {"X-Echelon-Signature": sign(raw, SECRET)}) == 201
    assert WorkflowExecution.objects.filter(workflow=workflow).count() == 1
