"""Scheduled deployments: recorded pending with `run_at`, run when due, cancelled by stop."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from echelon.dates import iso_utc
from notifications.models import Notification
from tests.factories import AgentFactory, WorkflowFactory
from tests.threads import run_in_threads
from workflows.models import Deployment
from workflows.n8n.backends import LocalBackend
from workflows.services import ScheduleError, agent_deploy, deployment_stop, deployments_run_due

pytestmark = pytest.mark.django_db


def later(**delta) -> str:
    return (timezone.now() + timedelta(**delta)).isoformat()


def schedule(agent, run_at: str) -> Deployment:
    return agent_deploy(agent=agent, trigger_type="scheduled", trigger_config={"run_at": run_at})


def test_a_scheduled_deployment_waits_pending_with_its_version_and_run_at_in_utc():
    agent = AgentFactory(status="inactive")
    in_two_hours_at_plus_2 = (timezone.now() + timedelta(hours=2)).astimezone(timezone.get_fixed_timezone(120))
    deployment = schedule(agent, in_two_hours_at_plus_2.isoformat())
    assert (deployment.status, deployment.trigger_type, deployment.version) == ("pending", "scheduled", 1)
    assert deployment.trigger_config["run_at"] == iso_utc(in_two_hours_at_plus_2)  # UTC, `Z` (issue 19)
    assert not Notification.objects.filter(type__startswith="deployment").exists()
    agent.refresh_from_db()
    assert agent.status == "inactive"


@pytest.mark.parametrize("run_at,message", [
    (None, "run_at must be an ISO 8601 date-time"),
    ("tomorrow", "run_at must be an ISO 8601 date-time"),
    ("2026-13-01T00:00:00Z", "run_at must be an ISO 8601 date-time"),
    ("2030-01-01T00:00:00", "run_at needs a UTC offset"),
    ("2001-01-01T00:00:00Z", "run_at must be in the future"),
    ("9999-12-31T23:00:00-05:00", "run_at is out of range"),
    ("2100-01-01T00:00:00Z", "run_at may be at most 365 days ahead"),
])
def test_a_bad_run_at_is_refused_and_records_nothing(run_at, message):
    with pytest.raises(ScheduleError, match=message):
        agent_deploy(agent=AgentFactory(), trigger_type="scheduled", trigger_config={"run_at": run_at})
    assert not Deployment.objects.exists()


def test_due_deployments_run_in_order_and_later_ones_wait(settings):
    settings.N8N_BASE_URL = ""
    agent = AgentFactory(status="inactive")
    first, second, third = schedule(agent, later(minutes=5)), schedule(agent, later(minutes=10)), schedule(
        agent, later(days=1))

    assert deployments_run_due() == []
    ran = deployments_run_due(now=timezone.now() + timedelta(minutes=11))

    assert [d.pk for d in ran] == [first.pk, second.pk]
    statuses = dict(Deployment.objects.values_list("pk", "status"))
    assert statuses == {first.pk: "stopped", second.pk: "deployed", third.pk: "pending"}
    agent.refresh_from_db()
    assert agent.status == "active"
    assert Notification.objects.filter(type="deployment_success").count() == 2


def test_stop_cancels_a_pending_deployment_without_calling_n8n_and_it_never_runs():
    agent = AgentFactory()
    deployment = schedule(agent, later(minutes=1))

    cancelled = deployment_stop(deployment=deployment, backend=None)

    assert (cancelled.status, cancelled.deployment_url) == ("stopped", None) and cancelled.stopped_at
    assert deployments_run_due(now=timezone.now() + timedelta(minutes=2)) == []
    assert not Notification.objects.filter(type__startswith="deployment").exists()


@pytest.mark.django_db(transaction=True)
def test_two_runners_at_once_run_a_due_deployment_once(settings):
    settings.N8N_BASE_URL = ""
    deployment = schedule(AgentFactory(), later(minutes=1))
    when = timezone.now() + timedelta(minutes=2)
    results = []

    errors = run_in_threads(2, lambda _: results.append(len(deployments_run_due(now=when, backend=LocalBackend()))))

    assert errors == []
    assert sorted(results) == [0, 1]
    deployment.refresh_from_db()
    assert deployment.status == "deployed"
    assert Notification.objects.filter(type="deployment_success").count() == 1


def test_the_command_runs_what_is_due_and_reports_failures(n8n_settings):
    ok_agent, broken_agent = AgentFactory(), AgentFactory()
    WorkflowFactory(agent=ok_agent, n8n_workflow_id="ci8N7gTduket1YpF")
    due = [schedule(ok_agent, later(minutes=10)), schedule(broken_agent, later(minutes=10))]
    Deployment.objects.filter(pk__in=[d.pk for d in due]).update(
        trigger_config={"run_at": (timezone.now() - timedelta(seconds=1)).isoformat()})
    out, err = StringIO(), StringIO()

    call_command("run_due_deployments", stdout=out, stderr=err)

    assert out.getvalue().strip() == "Ran 2 scheduled deployment(s): 1 deployed, 1 failed."
    assert "no workflow linked" in err.getvalue()


# --- HTTP ---------------------------------------------------------------------------------------
def test_deploy_endpoint_with_run_at_schedules(client_for):
    agent = AgentFactory()
    response = client_for(agent.created_by).post(f"/api/v1/agents/{agent.pk}/deploy/",
                                                 {"run_at": later(hours=1), "trigger_config": {"note": "night"}},
                                                 format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["status"], body["trigger_type"], body["trigger_config"]["note"]) == ("pending", "scheduled", "night")


def test_deploy_endpoint_with_a_past_run_at_is_400_naming_it(client_for):
    agent = AgentFactory()
    response = client_for(agent.created_by).post(f"/api/v1/agents/{agent.pk}/deploy/",
                                                 {"run_at": "2001-01-01T00:00:00Z"}, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert list(error["fields"]) == ["run_at"] and error["message"].startswith("run_at must be in the future")
    assert not Deployment.objects.exists()


def test_deploy_endpoint_with_run_at_does_not_run_at_once(client_for, django_capture_on_commit_callbacks):
    """The one creation path (issue 19): the agent's deploy with `run_at` schedules it."""
    agent = AgentFactory()
    client = client_for(agent.created_by)
    assert client.post("/api/v1/deployments/", {"agent": str(agent.pk), "trigger_type": "scheduled"},
                       format="json").status_code == 405
    with django_capture_on_commit_callbacks(execute=True):  # what runs after commit has run
        created = client.post(f"/api/v1/agents/{agent.pk}/deploy/", {"run_at": later(hours=3)}, format="json")
    assert created.status_code in (201, 202), created.content
    assert Deployment.objects.get().status == "pending"


def test_stop_endpoint_cancels_a_scheduled_deployment(client_for):
    agent = AgentFactory()
    deployment = schedule(agent, later(hours=1))
    response = client_for(agent.created_by).post(f"/api/v1/deployments/{deployment.pk}/stop/")
    assert response.status_code == 200 and response.json()["status"] == "stopped"


# --- the task queue's periodic job (replaces the thread inside `manage.py serve`) ----------------
def test_the_queue_runs_due_deployments_every_minute_on_its_worker(settings, queue_worker):
    from workflows.tasks import run_due_deployments

    settings.N8N_BASE_URL = ""
    deployment = schedule(AgentFactory(), later(minutes=10))
    Deployment.objects.filter(pk=deployment.pk).update(
        trigger_config={"run_at": (timezone.now() - timedelta(seconds=1)).isoformat()})
    run_due_deployments.defer(timestamp=int(timezone.now().timestamp()))  # what the periodic deferrer does
    queue_worker()
    assert Deployment.objects.get(pk=deployment.pk).status == "deployed"


def test_the_periodic_work_is_registered_with_the_queue():
    from procrastinate.contrib.django import app

    crons = {task.task.name: task.cron for task in app.periodic_registry.periodic_tasks.values()}
    assert crons == {"workflows.run_due_deployments": "* * * * *", "workflows.n8n_pass": "* * * * *",
                     "notifications.purge_expired": "17 * * * *"}
    # one waiting job of each at most, whatever the number of workers deferring ticks
    assert all(task.task.queueing_lock for task in app.periodic_registry.periodic_tasks.values())
