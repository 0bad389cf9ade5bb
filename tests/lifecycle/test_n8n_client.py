"""The n8n client against the fake n8n, and the fake against the recordings it was built from."""

from __future__ import annotations

import pytest

from tests.lifecycle.fake_n8n import recording
from workflows.n8n.client import (
    N8nBadRequest,
    N8nClient,
    N8nConflict,
    N8nNotFound,
    N8nUnauthorized,
    N8nUnavailable,
)


def test_fake_pages_match_the_recorded_pages(n8n_client):
    page1 = n8n_client.list_executions(limit=3)
    assert page1 == recording("executions_list_page1_limit3.json")
    page2 = n8n_client.list_executions(limit=3, cursor=page1["nextCursor"])
    assert page2 == recording("executions_list_page2.json")


def test_iterating_pages_follows_next_cursor_to_the_end(n8n_client, fake_n8n):
    pages = list(n8n_client.iter_execution_pages(limit=3))
    ids = [item["id"] for page in pages for item in page]
    assert ids == ["14", "13", "12", "11", "10", "9", "5", "2", "1"]
    # 9 executions, pages of 3: the third page is full, so n8n hands out a cursor to an empty page.
    assert [len(page) for page in pages] == [3, 3, 3, 0]
    assert sum(1 for method, path, _ in fake_n8n.requests if path == "/api/v1/executions") == 4


def test_status_filter_matches_the_recording(n8n_client):
    assert n8n_client.list_executions(status="error") == recording("executions_list_status_error.json")


def test_running_executions_are_left_out_unless_asked_for(n8n_client, fake_n8n):
    fake_n8n.add_execution({"id": "15", "finished": False, "mode": "webhook", "status": "running",
                            "startedAt": "2026-11-25T02:11:00.000Z", "stoppedAt": None,
                            "workflowId": "ci8N7gTduket1YpF", "waitTill": None})
    normal = [item["id"] for item in n8n_client.list_executions()["data"]]
    assert "15" not in normal
    running = n8n_client.list_executions(status="running")["data"]
    assert [item["id"] for item in running] == ["15"]


def test_bad_cursor_is_a_typed_400_with_n8ns_message(n8n_client):
    with pytest.raises(N8nBadRequest) as caught:
        n8n_client.list_executions(cursor="not-a-cursor")
    assert caught.value.status == 400
    assert caught.value.message == "An invalid cursor was provided"


def test_missing_key_is_401(fake_n8n, n8n_url):
    with N8nClient(n8n_url, "wrong-key") as client, pytest.raises(N8nUnauthorized) as caught:
        client.list_executions()
    assert caught.value.message == "Unauthorized"


def test_unknown_execution_is_404(n8n_client):
    with pytest.raises(N8nNotFound, match="Not Found"):
        n8n_client.get_execution("999")


def test_get_execution_with_data(n8n_client):
    assert n8n_client.get_execution("1") == recording("execution_success_includeData.json")
    assert "data" not in n8n_client.get_execution("1", include_data=False)


def test_publish_and_unpublish(n8n_client, fake_n8n):
    assert n8n_client.publish_workflow("ci8N7gTduket1YpF")["active"] is True
    assert fake_n8n.workflows["ci8N7gTduket1YpF"]["active"] is True
    n8n_client.unpublish_workflow("ci8N7gTduket1YpF")
    assert fake_n8n.workflows["ci8N7gTduket1YpF"]["active"] is False
    assert [path for method, path, _ in fake_n8n.requests if method == "POST"] == [
        "/api/v1/workflows/ci8N7gTduket1YpF/publish", "/api/v1/workflows/ci8N7gTduket1YpF/unpublish",
    ]


def test_publish_errors_are_typed(n8n_client, fake_n8n):
    with pytest.raises(N8nNotFound):
        n8n_client.publish_workflow("nope")
    fake_n8n.add_workflow({"name": "manual only", "nodes": [
        {"id": "m", "name": "Manual", "type": "n8n-nodes-base.manualTrigger", "parameters": {}}]}, "ManualOnly")
    with pytest.raises(N8nBadRequest, match="has no trigger node"):
        n8n_client.publish_workflow("ManualOnly")
    twin = fake_n8n.add_workflow(recording("wf1.json"), "Twin0000000000wf")
    n8n_client.publish_workflow("ci8N7gTduket1YpF")
    with pytest.raises(N8nConflict, match="conflict with one of the webhooks"):
        n8n_client.publish_workflow(twin["id"])


def test_n8n_1x_falls_back_to_activate_once(fake_n8n, n8n_url):
    fake_n8n.legacy = True
    with N8nClient(n8n_url, fake_n8n.api_key) as client:
        client.publish_workflow("ci8N7gTduket1YpF")
        client.unpublish_workflow("ci8N7gTduket1YpF")
        client.publish_workflow("ci8N7gTduket1YpF")
    assert [path.rsplit("/", 1)[1] for method, path, _ in fake_n8n.requests] == [
        "publish", "activate", "deactivate", "activate",
    ]
    assert fake_n8n.workflows["ci8N7gTduket1YpF"]["active"] is True


def test_unknown_workflow_on_1x_is_still_404(fake_n8n, n8n_url):
    fake_n8n.legacy = True
    with N8nClient(n8n_url, fake_n8n.api_key) as client, pytest.raises(N8nNotFound):
        client.publish_workflow("nope")


def test_retries_429_and_5xx_with_backoff(n8n_client, fake_n8n):
    fake_n8n.fail_next = [(503, {}), (429, {"Retry-After": "2"}), (502, {})]
    assert n8n_client.get_workflow("ci8N7gTduket1YpF")["id"] == "ci8N7gTduket1YpF"
    assert n8n_client.sleeps == [0.01, 2.0, 0.04]
    assert len(fake_n8n.requests) == 4


def test_retries_give_up_with_unavailable(n8n_client, fake_n8n):
    fake_n8n.fail_next = [(500, {})] * 4
    with pytest.raises(N8nUnavailable) as caught:
        n8n_client.list_executions()
    assert caught.value.status == 500
    assert len(fake_n8n.requests) == 4  # one try + three retries


def test_client_errors_are_not_retried(n8n_client, fake_n8n):
    with pytest.raises(N8nNotFound):
        n8n_client.get_workflow("nope")
    assert len(fake_n8n.requests) == 1 and n8n_client.sleeps == []


def test_unreachable_n8n_is_unavailable():
    with N8nClient("http://127.0.0.1:9", "k", timeout=1.0) as client, pytest.raises(N8nUnavailable):
        client.get_workflow("x")


def test_non_integer_limit_is_400(n8n_client):
    with pytest.raises(N8nBadRequest, match="must be a valid integer"):
        n8n_client._request("GET", "/executions", params={"limit": "abc"})
