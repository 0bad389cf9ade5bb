"""`manage.py sync_n8n` / `n8n_sync` against the fake n8n serving the recordings."""

from __future__ import annotations

from datetime import datetime, timezone as tz
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connections

from notifications.models import Notification
from tests.factories import AgentFactory, WorkflowFactory
from workflows.models import Workflow, WorkflowExecution
from workflows.services import ExecutionReport, execution_record
from workflows.services.sync import SYNC_LOCK_KEY, n8n_sync

pytestmark = pytest.mark.django_db

RECORDED_WORKFLOWS = ["ci8N7gTduket1YpF", "QsTKNkcZ9qsY9f2a", "9qAE7S1t2kkV2PNZ", "pw05nIE3A7vynCK7",
                      "GY2tWD1ZF4FhOYgm", "2sICuw2Wfuo1y7RY"]


@pytest.fixture
def agent():
    return AgentFactory(name="Watcher", status="active")


@pytest.fixture
def linked(agent):
    """One Echelon workflow per n8n workflow of the recordings, all run by `agent`."""
    return {n8n_id: WorkflowFactory(agent=agent, n8n_workflow_id=n8n_id, name=n8n_id) for n8n_id in RECORDED_WORKFLOWS}


def row(execution_id) -> WorkflowExecution:
    return WorkflowExecution.objects.get(execution_id=str(execution_id))


def when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(tz.utc)


def execution(ident, status, workflow_id="ci8N7gTduket1YpF", **extra):
    return {"id": str(ident), "finished": status == "success", "mode": "webhook", "retryOf": None,
            "retrySuccessId": None, "status": status, "startedAt": "2026-11-25T03:00:00.000Z",
            "stoppedAt": None if status in ("running", "new") else "2026-11-25T03:00:01.500Z",
            "workflowId": workflow_id, "waitTill": None, **extra}


def test_first_sync_records_and_maps_every_recorded_execution(n8n_client, linked, agent):
    report = n8n_sync(client=n8n_client)
    assert (report.workflows, report.created, report.finished, report.errors) == (6, 9, 9, [])
    statuses = dict(WorkflowExecution.objects.values_list("execution_id", "status"))
    assert statuses == {"1": "success", "2": "error", "5": "error", "9": "error", "10": "error", "11": "error",
                        "12": "success", "13": "success", "14": "error"}
    assert row(14).error_data == {"n8n_status": "crashed"}
    assert row(5).error_data == {"n8n_status": "canceled"}
    assert row(2).error_data == {
        "name": "NodeApiError", "message": "The service refused the connection - perhaps it is offline",
        "httpCode": "ECONNREFUSED", "messages": ["connect ECONNREFUSED 127.0.0.1:1"] * 2,
        "node": "Notify platform", "last_node": "Notify platform", "n8n_status": "error",
    }
    success = row(1)
    assert success.input_data[0]["body"] == {"agent_run": "r-1", "prompt": "hello"}
    assert success.output_data == [{"ok": True, "echo_len": 126}]
    assert success.error_data is None
    assert success.started_at == when("2026-11-25T02:07:22.294Z")
    assert success.completed_at == when("2026-11-25T02:07:22.362Z")
    assert success.execution_time_ms == 68


def test_counters_and_notifications_of_the_first_sync(n8n_client, linked, agent, relay):
    n8n_sync(client=n8n_client)
    failing = Workflow.objects.get(pk=linked["QsTKNkcZ9qsY9f2a"].pk)
    assert (failing.execution_count, failing.success_count, failing.error_count) == (4, 0, 4)
    assert failing.last_execution == when("2026-11-25T02:09:49.200Z")
    ok = Workflow.objects.get(pk=linked["ci8N7gTduket1YpF"].pk)
    assert (ok.execution_count, ok.success_count, ok.error_count) == (1, 1, 0)
    errors = Notification.objects.filter(type="agent_error")
    assert sorted(n.data["n8n_execution_id"] for n in errors) == ["10", "11", "14", "2", "5", "9"]
    assert {n.priority for n in errors} == {"high"}
    agent.refresh_from_db()
    assert agent.status == "error"
    relay()
    [change] = Notification.objects.filter(type="agent_status_change")
    assert change.data == {"agent_id": str(agent.pk), "old_status": "active", "new_status": "error"}


def test_second_sync_reads_one_page_per_workflow_and_changes_nothing(n8n_client, fake_n8n, linked):
    n8n_sync(client=n8n_client)
    before = list(Workflow.objects.order_by("pk").values_list("execution_count", "success_count", "error_count"))
    notes = Notification.objects.count()
    fake_n8n.requests.clear()
    report = n8n_sync(client=n8n_client)
    assert (report.created, report.updated, report.finished) == (0, 0, 0)
    assert all(path == "/api/v1/executions" for _, path, _ in fake_n8n.requests)  # no detail fetch
    assert len(fake_n8n.requests) == len(linked) + 1  # one list each, and one status=running for all
    after = list(Workflow.objects.order_by("pk").values_list("execution_count", "success_count", "error_count"))
    assert after == before and Notification.objects.count() == notes


def test_incremental_sync_stops_at_the_last_seen_id(n8n_client, fake_n8n, linked):
    n8n_sync(client=n8n_client)
    for ident in (20, 21, 22):
        fake_n8n.add_execution(execution(ident, "success"))
    fake_n8n.requests.clear()
    report = n8n_sync(client=n8n_client, page_size=2)
    assert report.created == 3
    lists = [(args.get("cursor") is not None) for _, path, args in fake_n8n.requests
             if path == "/api/v1/executions" and args.get("workflowId") == "ci8N7gTduket1YpF"
             and "status" not in args]
    assert lists == [False, True]  # [22, 21] then [20, 1]: 1 is the last seen id, stop
    assert Workflow.objects.get(pk=linked["ci8N7gTduket1YpF"].pk).execution_count == 4


def test_running_executions_come_from_status_running_and_count_once_finished(n8n_client, fake_n8n, linked):
    fake_n8n.add_execution(execution(30, "running"))
    n8n_sync(client=n8n_client)
    assert row(30).status == "running" and row(30).completed_at is None
    workflow = Workflow.objects.get(pk=linked["ci8N7gTduket1YpF"].pk)
    assert workflow.execution_count == 1
    fake_n8n.set_status(30, "success", stoppedAt="2026-11-25T03:00:02.000Z")
    n8n_sync(client=n8n_client)
    n8n_sync(client=n8n_client)
    workflow.refresh_from_db()
    assert row(30).status == "success" and row(30).execution_time_ms == 2000
    assert (workflow.execution_count, workflow.success_count) == (2, 2)


def test_rows_still_running_are_refreshed_one_by_one(n8n_client, fake_n8n, linked):
    fake_n8n.add_execution(execution(40, "success"))
    n8n_sync(client=n8n_client)
    workflow = linked["ci8N7gTduket1YpF"]
    # rows n8n's list will not reach: older than the last seen id (40)
    execution_record(workflow=workflow, report=ExecutionReport(execution_id="7", n8n_status="running"))
    execution_record(workflow=workflow, report=ExecutionReport(execution_id="8", n8n_status="waiting"))
    fake_n8n.add_execution(execution(7, "success"))
    for ident in (41, 42):
        fake_n8n.add_execution(execution(ident, "success"))
    fake_n8n.requests.clear()
    report = n8n_sync(client=n8n_client, page_size=1)
    assert (report.refreshed, report.missing) == (1, 1)  # 7 fetched; 8 is unknown to n8n (404)
    fetched = [path for _, path, _ in fake_n8n.requests if path.startswith("/api/v1/executions/")]
    assert sorted(fetched) == ["/api/v1/executions/41", "/api/v1/executions/42", "/api/v1/executions/7",
                               "/api/v1/executions/8"]
    assert row(7).status == "success" and row(8).status == "waiting"


def test_waiting_is_mapped_without_completion(n8n_client, fake_n8n, linked):
    fake_n8n.add_execution(execution(50, "waiting", waitTill="2026-11-25T04:00:00.000Z"))
    n8n_sync(client=n8n_client)
    waiting = row(50)
    assert (waiting.status, waiting.completed_at, waiting.execution_time_ms) == ("waiting", None, None)


@pytest.mark.parametrize("n8n_status,ours", [("new", "running"), ("unknown", "running"), ("running", "running")])
def test_unfinished_statuses_map_to_running(n8n_status, ours, linked):
    execution_record(workflow=linked["ci8N7gTduket1YpF"],
                     report=ExecutionReport(execution_id="60", n8n_status=n8n_status))
    assert row(60).status == ours


def test_a_finished_execution_never_moves_back(n8n_client, fake_n8n, linked):
    workflow = linked["ci8N7gTduket1YpF"]
    execution_record(workflow=workflow, report=ExecutionReport(execution_id="70", n8n_status="success"))
    fake_n8n.add_execution(execution(70, "running"))
    n8n_sync(client=n8n_client)
    assert row(70).status == "success"
    workflow.refresh_from_db()
    assert workflow.execution_count == 2  # 70 and the recorded 1, each once


def test_agent_error_once_when_callback_and_sync_both_see_it(n8n_client, linked):
    execution_record(workflow=linked["QsTKNkcZ9qsY9f2a"],
                     report=ExecutionReport(execution_id="2", n8n_status="error", error_data={"message": "boom"}))
    n8n_sync(client=n8n_client)
    assert Notification.objects.filter(type="agent_error", data__n8n_execution_id="2").count() == 1
    # already final: the sync does not fetch it again nor overwrite what the callback said
    assert (row(2).status, row(2).error_data) == ("error", {"message": "boom", "n8n_status": "error"})


def test_one_failing_workflow_does_not_stop_the_others(n8n_client, fake_n8n, linked):
    fake_n8n.fail_workflow = "ci8N7gTduket1YpF"  # its list answers 500, retried 3 times
    report = n8n_sync(client=n8n_client)
    assert report.workflows == 5 and len(report.errors) == 1
    assert "ci8N7gTduket1YpF" in report.errors[0]


# --- the management command ---------------------------------------------------------------------
def test_command_syncs_and_reports(n8n_settings, linked, capsys):
    out = StringIO()
    call_command("sync_n8n", "--progress", stdout=out)
    assert "Synced 6 workflow(s): " in out.getvalue() and "9 new" in out.getvalue()
    assert "n8n workflows" in capsys.readouterr().err  # tqdm's progress bar
    assert WorkflowExecution.objects.count() == 9


def test_command_without_n8n_configured(settings):
    settings.N8N_BASE_URL = ""
    with pytest.raises(CommandError, match="N8N_BASE_URL"):
        call_command("sync_n8n")


def test_command_with_a_wrong_key(n8n_settings, linked):
    n8n_settings.N8N_API_KEY = "wrong"
    with pytest.raises(CommandError, match="Unauthorized"):
        call_command("sync_n8n")
    assert not WorkflowExecution.objects.exists()


def test_overlapping_runs_skip(n8n_settings, linked):
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [SYNC_LOCK_KEY])
        out = StringIO()
        call_command("sync_n8n", stdout=out)
        assert "Another sync_n8n is running" in out.getvalue()
        assert not WorkflowExecution.objects.exists()
    finally:
        other.close()


def test_an_idle_sync_costs_a_fixed_number_of_queries(n8n_client, linked, django_assert_num_queries):
    n8n_sync(client=n8n_client)
    # the workflow list, then per workflow: last seen id, known statuses of the page, unfinished rows
    with django_assert_num_queries(1 + 3 * len(linked)):
        n8n_sync(client=n8n_client)


def test_elapsed_time_from_a_start_seen_by_sync_and_a_stop_sent_later(linked):
    workflow = linked["ci8N7gTduket1YpF"]
    execution_record(workflow=workflow, report=ExecutionReport(
        execution_id="80", n8n_status="running", started_at=when("2026-11-25T03:00:00.000Z")))
    execution_record(workflow=workflow, report=ExecutionReport(
        execution_id="80", n8n_status="success", stopped_at=when("2026-11-25T03:00:03.250Z")))
    assert (row(80).execution_time_ms, row(80).completed_at) == (3250, when("2026-11-25T03:00:03.250Z"))


def test_a_rolled_back_failure_leaves_no_trace(linked, agent):
    from django.db import transaction

    workflow = linked["QsTKNkcZ9qsY9f2a"]
    with pytest.raises(RuntimeError), transaction.atomic():
        execution_record(workflow=workflow, report=ExecutionReport(execution_id="90", n8n_status="crashed"))
        raise RuntimeError("abort")
    workflow.refresh_from_db()
    agent.refresh_from_db()
    assert (workflow.execution_count, workflow.error_count, agent.status) == (0, 0, "active")
    assert not WorkflowExecution.objects.exists() and not Notification.objects.exists()


# --- issue 18 --------------------------------------------------------------------------------------
def test_an_idle_pass_over_100_linked_workflows_costs_one_list_request_each_and_no_detail_fetch(
        n8n_client, fake_n8n, agent):
    """The bench point: 100 linked workflows with nothing new → 100 lists + the one shared
    status=running list, no `GET /executions/{id}`."""
    workflows = [WorkflowFactory(agent=agent, n8n_workflow_id=f"wf{n:03d}") for n in range(100)]
    for n, workflow in enumerate(workflows):
        fake_n8n.add_execution(execution(1000 + n, "success", workflow_id=workflow.n8n_workflow_id))
    n8n_sync(client=n8n_client)
    fake_n8n.requests.clear()
    report = n8n_sync(client=n8n_client)
    assert (report.workflows, report.created, report.updated) == (100, 0, 0)
    paths = [path for _, path, _ in fake_n8n.requests]
    assert paths == ["/api/v1/executions"] * 101
    per_workflow = sorted(args["workflowId"] for _, _, args in fake_n8n.requests if "workflowId" in args)
    assert per_workflow == sorted(w.n8n_workflow_id for w in workflows)


def test_execution_ids_reused_after_an_n8n_reset_get_their_own_rows(n8n_client, fake_n8n, linked):
    n8n_sync(client=n8n_client)
    old = row(1)
    fake_n8n.reset()  # n8n's database is new: ids start again
    fake_n8n.add_execution(execution(1, "error", startedAt="2026-11-26T09:00:00.000Z",
                                     stoppedAt="2026-11-26T09:00:02.000Z"))
    report = n8n_sync(client=n8n_client)
    assert report.reused == 1
    new = WorkflowExecution.objects.get(workflow=linked["ci8N7gTduket1YpF"], execution_id="1")
    assert new.pk != old.pk and (new.status, new.started_at) == ("error", when("2026-11-26T09:00:00.000Z"))
    kept = WorkflowExecution.objects.get(pk=old.pk)
    assert kept.status == "success" and kept.execution_id.startswith("1@") and kept.missing_at is not None
    assert kept.output_data == [{"ok": True, "echo_len": 126}]  # the old run's data untouched


def test_executions_are_matched_on_the_n8n_workflow_id_too(n8n_client, fake_n8n, linked):
    """A workflow re-linked to another n8n workflow (e.g. after an n8n reset): the old link's
    execution 1 does not swallow the new link's execution 1."""
    n8n_sync(client=n8n_client)
    workflow = linked["ci8N7gTduket1YpF"]
    Workflow.objects.filter(pk=workflow.pk).update(n8n_workflow_id="NewLink000000000")
    fake_n8n.add_execution(execution(1_000_001, "success", workflow_id="NewLink000000000"))
    fake_n8n.executions[1] = {**fake_n8n.executions[1], "workflowId": "NewLink000000000"}
    fake_n8n.details[1] = {**fake_n8n.details[1], "workflowId": "NewLink000000000"}
    n8n_sync(client=n8n_client)
    rows = WorkflowExecution.objects.filter(workflow=workflow, execution_id="1")
    assert sorted(rows.values_list("n8n_workflow_id", flat=True)) == ["NewLink000000000", "ci8N7gTduket1YpF"]


def test_rows_n8n_no_longer_has_are_marked_once_and_not_fetched_again(n8n_client, fake_n8n, linked):
    n8n_sync(client=n8n_client)
    workflow = linked["ci8N7gTduket1YpF"]
    execution_record(workflow=workflow, report=ExecutionReport(execution_id="8", n8n_status="running"))
    assert n8n_sync(client=n8n_client).missing == 1
    assert row(8).missing_at is not None and row(8).status == "running"
    fake_n8n.requests.clear()
    assert n8n_sync(client=n8n_client).missing == 0
    assert not [path for _, path, _ in fake_n8n.requests if path.startswith("/api/v1/executions/")]


def test_a_callback_row_takes_n8ns_times_from_the_list_without_a_detail_fetch(n8n_client, fake_n8n, linked):
    """Point 3: a callback without times left execution_time_ms null for ever and its times
    were the receipt's; the next sync fills them from n8n's list item."""
    workflow = linked["ci8N7gTduket1YpF"]
    execution_record(workflow=workflow, report=ExecutionReport(execution_id="1", n8n_status="success",
                                                                output_data={"ok": True}))
    received = row(1)
    assert received.completed_at >= received.started_at and received.execution_time_ms is None
    fake_n8n.requests.clear()
    n8n_sync(client=n8n_client)
    synced = row(1)
    assert (synced.started_at, synced.completed_at, synced.execution_time_ms) == (
        when("2026-11-25T02:07:22.294Z"), when("2026-11-25T02:07:22.362Z"), 68)
    assert synced.output_data == [{"ok": True}]  # the callback's data stays
    assert "/api/v1/executions/1" not in [path for _, path, _ in fake_n8n.requests]
    fake_n8n.requests.clear()
    assert n8n_sync(client=n8n_client).updated == 0  # nothing left to fill: no write


def test_one_shape_for_callback_and_sync_and_no_output_for_a_failed_run(n8n_client, linked):
    """Point 4: lists of items whatever the path; the failed run's output_data was []."""
    n8n_sync(client=n8n_client)
    assert isinstance(row(1).input_data, list) and isinstance(row(1).output_data, list)
    assert row(2).output_data is None and row(2).error_data["message"]
    execution_record(workflow=linked["ci8N7gTduket1YpF"], report=ExecutionReport(
        execution_id="500", n8n_status="success", input_data={"prompt": "hi"}, output_data={"answer": 1}))
    assert (row(500).input_data, row(500).output_data) == ([{"prompt": "hi"}], [{"answer": 1}])


def test_completed_at_is_never_before_started_at(linked):
    execution_record(workflow=linked["ci8N7gTduket1YpF"], report=ExecutionReport(
        execution_id="501", n8n_status="success", started_at=when("2026-11-25T03:00:05.000Z"),
        stopped_at=when("2026-11-25T03:00:04.000Z")))
    assert row(501).completed_at == row(501).started_at and row(501).execution_time_ms == 0


def test_a_replay_saying_error_changes_nothing_of_a_success(linked):
    """Point 9: a signed replay with status error filled error_data on a row that stayed success."""
    workflow = linked["ci8N7gTduket1YpF"]
    execution_record(workflow=workflow, report=ExecutionReport(execution_id="502", n8n_status="success"))
    execution_record(workflow=workflow, report=ExecutionReport(execution_id="502", n8n_status="error",
                                                                error_data={"message": "replayed"}))
    assert (row(502).status, row(502).error_data) == ("success", None)
    assert Notification.objects.filter(type="agent_error").count() == 0
