"""Issue 19: the operator console keeps what ingestion and the deployment state machine guarantee.

Ingested rows (executions, thoughts, metrics, API usage: `columns.ingested`) are read-only in the
admin for everyone; notifications are only marked read; deployments change through their state
machine (the stop / redeploy actions), with no editable version or status; the REST deployments
resource has one creation path (the agent's deploy) and no delete that bypasses stop.
"""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.urls import reverse

from agents.models import AgentStatus
from monitoring.models import AgentMetric, ApiUsage
from notifications.models import AgentThought, Notification
from tests import factories
from tests.admin_pages import admin_url as url, logged_in
from workflows.models import Deployment, DeploymentStatus, WorkflowExecution
from workflows.services import agent_deploy

pytestmark = pytest.mark.django_db


def change_form_post(execution) -> dict:
    """What a change form would post to move the execution to `error` (every field, as Django's
    form names them), so only the permission decides."""
    return {"workflow": str(execution.workflow_id), "execution_id": execution.execution_id, "status": "error",
            "execution_time_ms": "5", "started_at_0": "2026-01-01", "started_at_1": "10:00:00",
            "completed_at_0": "", "completed_at_1": "", "input_data": "{}", "output_data": "{}",
            "error_data": "{}", "thoughts-TOTAL_FORMS": "0", "thoughts-INITIAL_FORMS": "0"}


@pytest.mark.parametrize("who", ["superuser", "staff owner"])
def test_an_admin_post_of_a_changed_execution_status_changes_nothing(who):
    owner = factories.UserFactory(is_staff=True, is_superuser=who == "superuser")
    agent = factories.AgentFactory(created_by=owner, status=AgentStatus.ACTIVE)
    workflow = factories.WorkflowFactory(agent=agent, execution_count=1, success_count=0, error_count=0)
    execution = factories.WorkflowExecutionFactory(workflow=workflow, status="waiting", completed_at=None)
    before = WorkflowExecution.objects.filter(pk=execution.pk).values().get()
    notifications = Notification.objects.count()

    page = logged_in(owner).get(url(WorkflowExecution, "change", execution.pk))
    assert page.status_code == 200
    assert not any(not field.is_readonly for fs in page.context["adminform"] for line in fs for field in line)
    posted = logged_in(owner).post(url(WorkflowExecution, "change", execution.pk), change_form_post(execution))

    assert posted.status_code == 403
    assert WorkflowExecution.objects.filter(pk=execution.pk).values().get() == before
    workflow.refresh_from_db()
    agent.refresh_from_db()
    assert (workflow.execution_count, workflow.success_count, workflow.error_count) == (1, 0, 0)
    assert agent.status == AgentStatus.ACTIVE
    assert Notification.objects.count() == notifications  # no agent_error out of nowhere


@pytest.mark.parametrize("model", [WorkflowExecution, AgentThought, AgentMetric, ApiUsage, Notification])
@pytest.mark.parametrize("who", ["staff", "superuser"])
def test_nobody_gets_an_add_form_for_ingested_rows_or_notifications(model, who):
    user = factories.UserFactory(is_staff=True, is_superuser=who == "superuser")
    factories.AgentFactory(created_by=user)
    client = logged_in(user)
    assert client.get(url(model, "add")).status_code == 403
    before = model.objects.count()
    assert client.post(url(model, "add"), {"status": "success", "title": "forged"}).status_code == 403
    assert model.objects.count() == before
    changelist = client.get(url(model, "changelist"))
    assert changelist.status_code == 200
    assert url(model, "add") not in changelist.content.decode()  # no "Add" button either


def test_ingested_rows_are_not_deleted_in_the_admin(superuser):
    execution = factories.WorkflowExecutionFactory()
    client = logged_in(superuser)
    assert client.get(url(WorkflowExecution, "delete", execution.pk)).status_code == 403
    assert client.post(url(WorkflowExecution, "delete", execution.pk), {"post": "yes"}).status_code == 403
    assert WorkflowExecution.objects.filter(pk=execution.pk).exists()


def test_notifications_are_only_marked_read_in_the_admin():
    staff = factories.UserFactory(is_staff=True)
    notification = Notification.objects.create(user=staff, type="system", title="Maintenance tonight",
                                               message="The API restarts at 02:00 UTC.")
    client = logged_in(staff)
    change = client.get(url(Notification, "change", notification.pk))
    assert change.status_code == 200
    assert not any(not field.is_readonly for fs in change.context["adminform"] for line in fs for field in line)
    assert client.post(url(Notification, "change", notification.pk), {"title": "changed"}).status_code == 403
    done = client.post(url(Notification, "changelist"), {"action": "mark_read", "_selected_action": [notification.pk]})
    assert done.status_code == 302
    notification.refresh_from_db()
    assert notification.read_at is not None and notification.title == "Maintenance tonight"


# --- deployments through their state machine ------------------------------------------------------
@pytest.fixture
def live(settings):
    settings.N8N_BASE_URL = ""  # the local backend: deploys succeed without n8n
    owner = factories.UserFactory(is_staff=True)
    agent = factories.AgentFactory(created_by=owner, name="Market Watcher")
    deployment = agent_deploy(agent=agent, actor=owner)
    assert deployment.status == DeploymentStatus.DEPLOYED
    return owner, agent, deployment


def test_a_deployment_is_named_by_its_agent_and_shown_read_only(live, superuser):
    owner, agent, deployment = live
    assert str(deployment) == "Market Watcher v1 — deployed"
    for user in (owner, superuser):
        client = logged_in(user)
        page = client.get(url(Deployment, "change", deployment.pk))
        assert page.status_code == 200
        inputs = [field.field.name for fs in page.context["adminform"] for line in fs for field in line
                  if not field.is_readonly]
        assert inputs == []  # no editable version, status or trigger
        assert client.get(url(Deployment, "add")).status_code == 403
        agent_page = client.get(url(type(agent), "change", agent.pk)).content.decode()
        assert "Market Watcher v1 — deployed" in agent_page  # the inline's title, not a UUID
        assert 'name="deployments-0-version"' not in agent_page
        assert client.get(url(Deployment, "delete", deployment.pk)).status_code == 403  # live: stop first


def test_the_stop_and_redeploy_actions_go_through_the_state_machine(live, queue_worker):
    owner, agent, deployment = live
    client = logged_in(owner)
    redeployed = client.post(url(Deployment, "changelist"), {"action": "redeploy", "_selected_action": [deployment.pk]})
    assert redeployed.status_code == 302
    versions = dict(Deployment.objects.filter(agent=agent).values_list("version", "status"))
    assert versions == {1: "deployed", 2: "deploying"}  # queued for the worker (issue 18)
    queue_worker()
    versions = dict(Deployment.objects.filter(agent=agent).values_list("version", "status"))
    assert versions == {1: "stopped", 2: "deployed"}  # the previous live one stopped by the machine
    second = Deployment.objects.get(agent=agent, version=2)
    stopped = client.post(url(Deployment, "changelist"), {"action": "stop_deployments", "_selected_action": [second.pk]})
    assert stopped.status_code == 302
    second.refresh_from_db()
    assert second.status == "stopping"
    queue_worker()
    second.refresh_from_db()
    agent.refresh_from_db()
    assert second.status == "stopped" and second.stopped_at is not None
    assert agent.status == AgentStatus.INACTIVE  # no live deployment left
    # a stopped deployment stopped again: refused with the machine's message, nothing changed
    again = client.post(url(Deployment, "changelist"), {"action": "stop_deployments", "_selected_action": [second.pk]},
                        follow=True)
    assert "cannot become stopping" in again.content.decode()


def test_the_rest_delete_of_a_live_deployment_is_refused(live, client_for):
    owner, agent, deployment = live
    client = client_for(owner)
    refused = client.delete(f"/api/v1/deployments/{deployment.pk}/")
    assert refused.status_code == 409, refused.content
    assert "stop it first" in refused.json()["error"]["message"]
    assert Deployment.objects.filter(pk=deployment.pk, status="deployed").exists()
    agent.refresh_from_db()
    assert agent.status == AgentStatus.ACTIVE
    assert client.post(f"/api/v1/deployments/{deployment.pk}/stop/").status_code in (200, 202)
    deployment.refresh_from_db()
    if deployment.status == "stopped":  # (issue 18 may stop asynchronously)
        assert client.delete(f"/api/v1/deployments/{deployment.pk}/").status_code == 204


def test_deployments_are_created_one_way_only(client_for):
    agent = factories.AgentFactory()
    client = client_for(agent.created_by)
    created = client.post("/api/v1/deployments/", {"agent": str(agent.pk), "trigger_type": "manual"}, format="json")
    assert created.status_code == 405
    assert client.patch(f"/api/v1/deployments/{factories.DeploymentFactory(agent=agent).pk}/",
                        {"trigger_type": "webhook"}, format="json").status_code == 405
    assert not Deployment.objects.filter(trigger_type="webhook").exists()


def test_unused_apps_are_hidden_and_records_link_to_their_pages(superuser):
    client = logged_in(superuser)
    index = client.get(reverse("admin:index")).content.decode()
    assert "/admin/auth/group/" not in index and "token_blacklist" not in index
    agent = factories.AgentFactory()
    page = client.get(url(type(agent), "change", agent.pk)).content.decode()
    assert reverse("admin:view_on_site", args=[
        __import__("django.contrib.contenttypes.models", fromlist=["ContentType"]).ContentType.objects.get_for_model(
            agent).pk, agent.pk]) in page
    assert agent.get_absolute_url() == f"/agents/{agent.pk}/"
    assert admin.site._registry[type(agent)].has_view_permission


def test_the_admin_shows_times_in_the_pages_format(superuser):
    """Not Django's "Dec. 2, 2026, 6:35 p.m." beside the pages' "Dec 2, 6:35 PM" (echelon/formats)."""
    import re
    from datetime import datetime, timezone as dt_timezone

    agent = factories.AgentFactory()
    type(agent).objects.filter(pk=agent.pk).update(last_activity=datetime(2026, 12, 2, 18, 35, tzinfo=dt_timezone.utc))
    page = logged_in(superuser).get(url(type(agent), "change", agent.pk)).content.decode()
    assert "Dec 2, 2026, 6:35 PM" in page
    assert not re.search(r"\d (a|p)\.m\.", page)
