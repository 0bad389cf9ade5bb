"""`manage.py seed_demo`: idempotent, covers every enumeration, and the printed login works."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.apps import apps
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from accounts.models import Role, UserRole
from agents.models import Agent, AgentStatus, AgentType
from echelon import demo
from echelon.demo import seed_demo
from monitoring.models import AgentMetric
from notifications.models import AgentThought, Notification, NotificationType, Priority
from workflows.models import Deployment, DeploymentStatus, ExecutionStatus, Workflow, WorkflowExecution

pytestmark = pytest.mark.django_db

OUR_APPS = ("accounts", "agents", "workflows", "notifications", "monitoring")


@pytest.fixture(autouse=True)
def password_file(tmp_path, monkeypatch):
    monkeypatch.delenv(demo.PASSWORD_ENV, raising=False)
    path = tmp_path / "admin-password"
    monkeypatch.setattr(demo, "PASSWORD_FILE", path)
    return path


def run() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def counts():
    return {m._meta.label: m.objects.count() for app in OUR_APPS for m in apps.get_app_config(app).get_models()}


def printed_login(output):
    email = re.search(r"Email:\s+(\S+)", output).group(1)
    password = re.search(r"Password:\s+(\S+)", output).group(1)
    return email, password


def test_second_run_creates_nothing_and_prints_the_same_login(password_file):
    first_output = run()
    first = counts()
    second_output = run()
    assert counts() == first
    assert "0 rows created" in second_output
    assert printed_login(first_output) == printed_login(second_output)
    assert password_file.read_text().strip() == printed_login(first_output)[1]
    assert all(first[label] > 0 for label in first), first


def test_printed_login_opens_the_admin():
    email, password = printed_login(run())
    assert email == "admin@echelon.local"
    client = Client()
    assert client.login(email=email, password=password)
    assert client.get("/admin/").status_code == 200


def test_password_from_the_environment_wins_and_is_reapplied(monkeypatch):
    run()
    monkeypatch.setenv(demo.PASSWORD_ENV, "from-the-environment-42")
    output = run()
    assert printed_login(output)[1] == "from-the-environment-42"
    assert Client().login(email="admin@echelon.local", password="from-the-environment-42")


def test_demo_users_log_in_with_the_printed_password():
    _, password = printed_login(run())
    assert Client().login(email="carol@echelon.local", password=password)


def test_demo_data_covers_every_enumeration_and_role():
    run()
    assert set(Agent.objects.values_list("type", "status")) == {(t, s) for t in AgentType for s in AgentStatus}
    # every state a deployment rests in; `deploying`, `stopping` and `unknown` last until a worker or
    # the next reconcile pass (a demo row left in one would be "deploying for ever", issue 19)
    transient = {DeploymentStatus.DEPLOYING, DeploymentStatus.STOPPING, DeploymentStatus.UNKNOWN}
    assert set(Deployment.objects.values_list("status", flat=True)) == set(DeploymentStatus) - transient
    assert set(WorkflowExecution.objects.values_list("status", flat=True)) == set(ExecutionStatus)
    for slug in ("acme", "globex"):
        assert set(UserRole.objects.filter(team__slug=slug).values_list("role", flat=True)) == set(Role)
    assert set(Notification.objects.values_list("priority", flat=True)) == set(Priority)
    assert Notification.objects.filter(read_at__isnull=True).exists()
    assert Notification.objects.filter(read_at__isnull=False).exists()
    assert Agent.objects.filter(team__isnull=False).exists() and Agent.objects.filter(team__isnull=True).exists()


def test_thoughts_form_a_tree_within_each_execution():
    run()
    for execution in WorkflowExecution.objects.all()[:5]:
        nodes = dict(AgentThought.objects.filter(execution=execution).values_list("node_id", "parent_node_id"))
        roots = [n for n, parent in nodes.items() if parent is None]
        assert len(roots) == 1
        assert all(parent in nodes for parent in nodes.values() if parent is not None)
        assert set(AgentThought.objects.filter(execution=execution).values_list("agent_id", flat=True)) == {
            execution.workflow.agent_id}


def test_existing_user_with_a_demo_email_is_reused():
    from tests import factories

    existing = factories.UserFactory(email="bob@echelon.local")
    run()
    assert Agent.objects.filter(created_by=existing).exists()


def test_demo_staff_user_sees_the_admin_through_the_policy():
    from accounts.models import User
    from echelon.policy import policy_for

    _, password = printed_login(run())
    client = Client()
    assert client.login(email="alice@echelon.local", password=password)
    response = client.get("/admin/agents/agent/")
    assert response.status_code == 200
    alice = User.objects.get(email="alice@echelon.local")
    visible = policy_for(Agent).visible_to(alice).count()
    assert response.context["cl"].result_count == visible < Agent.objects.count()


def test_demo_workflows_are_not_linked_to_n8n_unless_asked():
    """Issue 18, point 7: made-up n8n ids made every sync against a real n8n fail the seeded
    deploying deployments and re-fetch 40 executions n8n answers 404."""
    from workflows.models import Workflow

    demo.seed_demo()
    assert Workflow.objects.exists()
    assert not Workflow.objects.exclude(n8n_workflow_id__isnull=True).exclude(n8n_workflow_id="").exists()
    users = dict(demo.User.objects.values_list("email", "pk"))
    teams = dict(demo.Team.objects.values_list("slug", "pk"))
    asked = demo._build(users, teams, demo.timezone.now(), link_n8n=True)[Workflow]
    assert asked and all(w.n8n_workflow_id.startswith("demo") for w in asked)
# --- issue 19: demo data a person would believe ----------------------------------------------------
def test_demo_states_are_consistent_with_each_other():
    seed_demo()
    for agent in Agent.objects.all():
        live = agent.deployments.filter(status="deployed").count()
        assert live == (1 if agent.status == "active" else 0), (agent.name, agent.status, live)
        assert "(" not in agent.name  # no "(active)" in a name
    assert not Deployment.objects.filter(status="deploying").exists()
    for pending in Deployment.objects.filter(status="pending"):
        assert pending.trigger_type == "scheduled" and pending.run_at > timezone.now()
    for stopped in Deployment.objects.filter(status="stopped"):
        assert stopped.deployed_at and stopped.stopped_at > stopped.deployed_at
    for workflow in Workflow.objects.all():
        latest = workflow.executions.order_by("-started_at").values_list("started_at", flat=True).first()
        assert workflow.last_execution == latest
def test_demo_metrics_are_in_range():
    seed_demo()
    rates = AgentMetric.objects.filter(metric_type="success_rate").values_list("value", flat=True)
    assert rates and all(0 <= rate <= 100 for rate in rates), max(rates)
    assert not AgentMetric.objects.filter(value__lt=0).exists()
def test_demo_notifications_are_real_ones_linked_to_their_agents():
    seed_demo()
    notes = list(Notification.objects.all())
    assert {n.type for n in notes} == set(NotificationType)
    assert len({n.title for n in notes}) >= 7 and not [n for n in notes if n.title.startswith("Demo notice")]
    for note in notes:
        if note.type.startswith(("deployment", "agent")):
            agent = Agent.objects.get(pk=note.data["agent_id"])
            assert agent.created_by_id == note.user_id and agent.name in note.message
