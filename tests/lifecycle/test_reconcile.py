"""The reconciler and the queue's n8n calls against the fake n8n (issue 18, points 1, 8 and 9).

The worker is procrastinate's real one (`queue_worker`: in this process; the dying worker: a
subprocess killed with SIGKILL mid-call). The fake n8n holds requests while frozen and carries
them out when resumed, as a real n8n did after SIGSTOP/SIGCONT.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from notifications.models import Notification
from tests.factories import AgentFactory, DeploymentFactory, WorkflowFactory
from tests.lifecycle.fake_n8n import API_KEY
from tests.monitoring.servers import database_url_for_tests
from workflows.models import Deployment, Workflow
from workflows.n8n.client import N8nClient
from workflows.services import agent_deploy
from workflows.services.deployments import deployment_request, deployment_stop_request
from workflows.services.n8n_pass import n8n_pass
from workflows.services.reconcile import reconcile

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]
N8N_ID = "ci8N7gTduket1YpF"


def wait_for(condition, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not happen within {timeout} s")
        time.sleep(0.05)


@pytest.fixture
def linked_agent(n8n_settings):
    n8n_settings.N8N_TIMEOUT_SECONDS = 0.5  # a frozen n8n is never answered: the call times out
    agent = AgentFactory(status="inactive")
    WorkflowFactory(agent=agent, n8n_workflow_id=N8N_ID)
    return agent


@pytest.fixture
def client(n8n_url):
    with N8nClient(n8n_url, API_KEY, sleep=lambda _: None) as n8n:
        yield n8n


def status_of(deployment) -> str:
    return Deployment.objects.get(pk=deployment.pk).status


# --- point 1: split brain after a timeout -------------------------------------------------------
def test_a_publish_n8n_carries_out_after_a_timeout_is_unknown_then_deployed_by_the_next_pass(
        linked_agent, fake_n8n, queue_worker, client):
    deployment = deployment_request(agent=linked_agent, actor=linked_agent.created_by)
    fake_n8n.freeze()
    queue_worker()  # the publish times out against the frozen n8n
    deployment.refresh_from_db()
    assert deployment.status == "unknown", deployment.error_message  # never "failed"
    assert deployment.error_message.startswith(f"Outcome unknown: n8n workflow {N8N_ID}: n8n did not answer in time")
    assert "(no answer)" in deployment.error_message and "HTTP None" not in deployment.error_message
    assert not Notification.objects.filter(type="deployment_failed").exists()
    fake_n8n.resume()  # n8n carries out the publish it had received
    wait_for(lambda: fake_n8n.workflows[N8N_ID]["active"], "the held publish")
    report = reconcile(client=client)
    deployment.refresh_from_db()
    linked_agent.refresh_from_db()
    assert (report.resolved, deployment.status, linked_agent.status) == (1, "deployed", "active")
    assert "outcome resolved by the reconcile pass" in deployment.reconcile_note
    assert Notification.objects.filter(type="deployment_success", data__deployment_id=str(deployment.pk)).exists()
    assert Workflow.objects.get(n8n_workflow_id=N8N_ID).status == "active"  # point 8
    # an unknown deployment can be stopped (a failed one could not: point 1's dead end)
    assert report.errors == []


def test_a_publish_n8n_never_carried_out_is_failed_by_the_pass(linked_agent, fake_n8n, client):
    deployment = Deployment.objects.create(agent=linked_agent, version=1, status="unknown", trigger_type="manual")
    report = reconcile(client=client)
    deployment.refresh_from_db()
    assert (report.resolved, deployment.status) == (1, "failed")
    assert deployment.error_message == f"n8n did not publish {N8N_ID} (seen by the reconcile pass after an unanswered publish)"


def test_only_the_newest_unknown_deployment_takes_n8ns_state(linked_agent, fake_n8n, client):
    older = Deployment.objects.create(agent=linked_agent, version=1, status="unknown", trigger_type="manual")
    newest = Deployment.objects.create(agent=linked_agent, version=2, status="unknown", trigger_type="manual")
    reconcile(client=client)  # n8n has not published: the newest failed, the older one superseded
    assert (status_of(newest), status_of(older)) == ("failed", "stopped")
    assert "superseded by v2" in Deployment.objects.get(pk=older.pk).reconcile_note
    again = Deployment.objects.create(agent=linked_agent, version=3, status="unknown", trigger_type="manual")
    stale = Deployment.objects.create(agent=linked_agent, version=4, status="unknown", trigger_type="manual")
    fake_n8n.workflows[N8N_ID]["active"] = True
    reconcile(client=client)  # published: the newest is live, which stops the older one
    assert (status_of(stale), status_of(again)) == ("deployed", "stopped")


def test_an_unknown_deployment_can_be_stopped(linked_agent, fake_n8n, queue_worker):
    deployment = Deployment.objects.create(agent=linked_agent, version=1, status="unknown", trigger_type="manual")
    fake_n8n.workflows[N8N_ID]["active"] = True
    assert deployment_stop_request(deployment=deployment).status == "stopping"
    queue_worker()
    assert status_of(deployment) == "stopped" and fake_n8n.workflows[N8N_ID]["active"] is False


def test_a_stop_n8n_does_not_answer_stays_stopping_and_the_pass_finishes_it(linked_agent, fake_n8n, queue_worker,
                                                                            client):
    deployment = agent_deploy(agent=linked_agent)
    assert deployment.status == "deployed"
    deployment_stop_request(deployment=deployment)
    fake_n8n.freeze()
    queue_worker()
    deployment.refresh_from_db()
    assert deployment.status == "stopping" and "n8n did not answer the unpublish" in deployment.reconcile_note
    fake_n8n.resume()
    wait_for(lambda: not fake_n8n.workflows[N8N_ID]["active"], "the held unpublish")
    reconcile(client=client)
    linked_agent.refresh_from_db()
    assert (status_of(deployment), linked_agent.status) == ("stopped", "inactive")
    assert Workflow.objects.get(n8n_workflow_id=N8N_ID).status == "inactive"


# --- a deploy whose worker dies mid-call ---------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_a_deploy_whose_worker_dies_mid_call_is_resolved_by_the_next_pass(linked_agent, fake_n8n, n8n_url, client):
    deployment = deployment_request(agent=linked_agent, actor=linked_agent.created_by)
    fake_n8n.freeze()
    env = dict(os.environ, DATABASE_URL=database_url_for_tests(), N8N_BASE_URL=n8n_url, N8N_API_KEY=API_KEY,
               N8N_TIMEOUT_SECONDS="60", DATABASE_POOL="0")
    worker = subprocess.Popen([sys.executable, "manage.py", "procrastinate", "worker", "--queues", "n8n"],
                              cwd=ROOT, env=env, stdout=open("/tmp/n8n-worker.log", "w"), stderr=subprocess.STDOUT)
    try:
        assert fake_n8n.held.wait(60), "the worker never called n8n"
        worker.send_signal(signal.SIGKILL)  # dies in the middle of the publish
        worker.wait(30)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(30)
    fake_n8n.resume()
    wait_for(lambda: fake_n8n.workflows[N8N_ID]["active"], "the held publish")
    assert status_of(deployment) == "deploying"
    reconcile(client=client)  # still young: a worker might be on it
    assert status_of(deployment) == "deploying"
    report = reconcile(client=client, stale_after=timedelta(0))
    assert (report.resolved, status_of(deployment)) == (1, "deployed")


# --- the difference n8n and Echelon may have, repaired -------------------------------------------
def test_the_pass_republishes_what_n8n_unpublished_behind_a_live_deployment(linked_agent, fake_n8n, client):
    deployment = agent_deploy(agent=linked_agent)
    fake_n8n.workflows[N8N_ID]["active"] = False  # someone unpublished it in n8n's editor
    report = reconcile(client=client)
    deployment.refresh_from_db()
    assert report.republished == 1 and fake_n8n.workflows[N8N_ID]["active"] is True
    assert f"n8n had unpublished {N8N_ID} of the live deployment v1; republished" in deployment.reconcile_note
    [note] = Notification.objects.filter(type="system", user=linked_agent.created_by)
    assert note.data["deployment_id"] == str(deployment.pk) and "republished" in note.message


def test_the_pass_unpublishes_what_n8n_runs_without_a_live_deployment(linked_agent, fake_n8n, client):
    failed = DeploymentFactory(agent=linked_agent, status="failed", version=1)
    fake_n8n.workflows[N8N_ID]["active"] = True  # point 1: "failed" while n8n runs it
    report = reconcile(client=client)
    failed.refresh_from_db()
    assert report.unpublished == 1 and fake_n8n.workflows[N8N_ID]["active"] is False
    assert "published while no deployment is live; unpublished" in failed.reconcile_note
    assert Workflow.objects.get(n8n_workflow_id=N8N_ID).status == "inactive"


def test_workflow_status_follows_n8n(linked_agent, fake_n8n, client):
    """Point 8: workflows.status stayed inactive while n8n had the workflow published."""
    other = WorkflowFactory(agent=AgentFactory(), n8n_workflow_id="9qAE7S1t2kkV2PNZ", status="inactive")
    agent_deploy(agent=other.agent)
    Workflow.objects.filter(pk=other.pk).update(status="inactive")
    reconcile(client=client)
    assert Workflow.objects.get(pk=other.pk).status == "active"


def test_a_second_pass_with_nothing_to_repair_calls_n8n_once(linked_agent, fake_n8n, client):
    agent_deploy(agent=linked_agent)
    reconcile(client=client)
    fake_n8n.requests.clear()
    report = reconcile(client=client)
    assert (report.resolved, report.republished, report.unpublished, report.workflow_status_changes) == (0, 0, 0, 0)
    assert [(m, p) for m, p, _ in fake_n8n.requests] == [("GET", "/api/v1/workflows")]


def test_a_deploying_deployment_with_a_worker_on_it_is_left_alone(linked_agent, fake_n8n, client):
    deploying = Deployment.objects.create(agent=linked_agent, version=1, status="deploying", trigger_type="manual")
    fake_n8n.workflows[N8N_ID]["active"] = True
    reconcile(client=client)
    assert status_of(deploying) == "deploying" and fake_n8n.workflows[N8N_ID]["active"] is True


# --- point 5: sync_n8n exits non-zero when n8n is unreachable --------------------------------------
def test_sync_command_fails_with_one_line_when_n8n_is_unreachable(settings, linked_agent):
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.N8N_BASE_URL = f"http://127.0.0.1:{port}"
    with pytest.raises(CommandError) as failed:
        call_command("sync_n8n", stdout=StringIO())
    assert str(failed.value).startswith("n8n could not be reached or refused: n8n is unreachable")
    assert "\n" not in str(failed.value)


def test_sync_command_fails_when_a_workflow_could_not_be_synced(n8n_settings, linked_agent, fake_n8n):
    fake_n8n.fail_workflow = N8N_ID
    with pytest.raises(CommandError, match=r"^1 n8n call\(s\) failed, first: "):
        call_command("sync_n8n", stdout=StringIO(), stderr=StringIO())


def test_sync_command_reports_the_reconcile_pass(n8n_settings, linked_agent, fake_n8n):
    agent_deploy(agent=linked_agent)
    fake_n8n.workflows[N8N_ID]["active"] = False
    out = StringIO()
    call_command("sync_n8n", stdout=out)
    assert "Reconciled 1 agent(s): 0 deployment(s) resolved, 1 republished" in out.getvalue()


def test_the_queue_s_pass_task_runs_the_same_pass(n8n_settings, linked_agent, fake_n8n, queue_worker):
    from workflows.tasks import n8n_pass_task

    agent_deploy(agent=linked_agent)
    fake_n8n.workflows[N8N_ID]["active"] = False
    n8n_pass_task.defer(timestamp=int(time.time()))
    queue_worker()
    assert fake_n8n.workflows[N8N_ID]["active"] is True


def test_overlapping_passes_skip(n8n_settings, linked_agent, client):
    from django.db import connections

    from workflows.services.sync import SYNC_LOCK_KEY

    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [SYNC_LOCK_KEY])
        assert n8n_pass(client=client).skipped
    finally:
        other.close()


# --- point 6: a DELETE right after an unpublish is a 409 in n8n 2.41.1 -----------------------------
def test_delete_after_unpublish_is_retried_until_n8n_has_finished(fake_n8n, client):
    fake_n8n.workflows[N8N_ID]["active"] = True
    client.unpublish_workflow(N8N_ID)
    client.delete_workflow(N8N_ID)
    deletes = [path for method, path, _ in fake_n8n.requests if method == "DELETE"]
    assert len(deletes) == 2 and N8N_ID not in fake_n8n.workflows  # 409 first, then deleted
    assert client.delete_workflow(N8N_ID) is None  # already gone
