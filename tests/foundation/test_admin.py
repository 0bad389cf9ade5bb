"""Every admin page answers for a superuser; actions and the agent form change status once."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from agents.models import Agent
from echelon.policy import policy_for
from notifications.models import Notification
from tests import factories
from workflows.models import Deployment
from workflows.services.deployments import DELETABLE

pytestmark = pytest.mark.django_db

OUR_APPS = {"accounts", "agents", "workflows", "notifications", "monitoring"}
MODELS = sorted(
    (m for m in admin.site._registry if m._meta.app_label in OUR_APPS), key=lambda m: m._meta.label
)


def url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


@pytest.fixture
def rows(superuser):
    """One row of every model, linked together as in real data."""
    thought = factories.AgentThoughtFactory()
    agent = thought.agent
    role = factories.UserRoleFactory()
    agent.team = role.team
    agent.save()
    return {
        "User": superuser, "Team": role.team, "UserRole": role, "Agent": agent,
        "AgentTemplate": factories.AgentTemplateFactory(),
        "Deployment": factories.DeploymentFactory(agent=agent),
        "Workflow": thought.execution.workflow, "WorkflowExecution": thought.execution,
        "AgentThought": thought, "Notification": factories.NotificationFactory(user=superuser),
        "AgentMetric": factories.AgentMetricFactory(agent=agent),
        "ApiUsage": factories.ApiUsageFactory(agent=agent),
    }


@pytest.fixture
def admin_client(superuser):
    client = Client()
    client.force_login(superuser)
    return client


def test_every_model_of_every_app_is_registered():
    names = {m.__name__ for m in MODELS}
    assert names == {"User", "Team", "UserRole", "Agent", "AgentTemplate", "Deployment", "Workflow",
                     "WorkflowExecution", "AgentThought", "Notification", "AgentMetric", "ApiUsage"}


def test_admin_index_lists_every_app(admin_client):
    response = admin_client.get(reverse("admin:index"))
    assert response.status_code == 200
    for app in OUR_APPS:
        assert f"/admin/{app}/" in response.content.decode()


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_changelist_search_change_and_add_answer_200(admin_client, rows, model):
    row = rows[model.__name__]
    changelist = admin_client.get(url(model, "changelist"))
    assert changelist.status_code == 200
    assert changelist.context["cl"].result_count >= 1
    for term in ("a", str(row.pk), "no-such-thing-anywhere"):
        assert admin_client.get(url(model, "changelist"), {"q": term}).status_code == 200
    by_id = admin_client.get(url(model, "changelist"), {"q": str(row.pk)})
    assert [r.pk for r in by_id.context["cl"].result_list] == [row.pk]
    change = admin_client.get(url(model, "change", row.pk))
    assert change.status_code == 200
    model_admin = admin.site._registry[model]
    ingested = policy_for(model).columns.ingested  # issue 19: read-only for superusers too
    adds = not ingested and model_admin.adds_rows
    assert admin_client.get(url(model, "add")).status_code == (200 if adds else 403)
    deletes = not ingested and (model is not Deployment or row.status in DELETABLE)
    assert admin_client.get(url(model, "delete", row.pk)).status_code == (200 if deletes else 403)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_every_list_filter_answers_200(admin_client, rows, model):
    model_admin = admin.site._registry[model]
    response = admin_client.get(url(model, "changelist"))
    for spec in response.context["cl"].filter_specs:
        for choice in list(spec.choices(response.context["cl"]))[1:3]:
            query = choice["query_string"]
            assert admin_client.get(url(model, "changelist") + query).status_code == 200, (model_admin, query)


def test_json_is_shown_indented(admin_client, rows):
    execution = rows["WorkflowExecution"]
    execution.output_data = {"summary": {"items": 3}}
    execution.save()
    page = admin_client.get(url(type(execution), "change", execution.pk)).content.decode()
    assert '{\n  &quot;summary&quot;: {\n    &quot;items&quot;: 3\n  }\n}' in page
    agent = rows["Agent"]
    page = admin_client.get(url(Agent, "change", agent.pk)).content.decode()
    assert "{\n  &quot;interval&quot;: &quot;5m&quot;," in page


def test_user_add_form_creates_an_email_login(admin_client):
    response = admin_client.post(url(factories.User, "add"), {
        "email": "New.Person@Example.com", "usable_password": "true",
        "password1": "a-long-unusual-passphrase", "password2": "a-long-unusual-passphrase",
        "subscription_tier": "pro",
    })
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert Client().login(email="new.person@example.com", password="a-long-unusual-passphrase")


def test_user_change_form_links_the_password_form_but_shows_no_part_of_the_hash(admin_client, superuser):
    """UserPolicy.columns: the hash is `never` shown, to operators neither (Django's widget showed
    its algorithm, iterations and the first characters of salt and hash)."""
    page = admin_client.get(url(factories.User, "change", superuser.pk)).content.decode()
    algorithm, *_, salt, digest = superuser.password.split("$")
    assert algorithm not in page and salt[:6] not in page and digest[:6] not in page
    assert "algorithm" not in page
    assert reverse("admin:auth_user_password_change", args=[superuser.pk]) in page


def _action(client, model, action, pks):
    return client.post(url(model, "changelist"), {"action": action, "_selected_action": [str(p) for p in pks]})


def test_activate_and_pause_actions_notify_once_per_real_change(admin_client, relay):
    inactive = factories.AgentFactory(status="inactive")
    active = factories.AgentFactory(status="active")
    response = _action(admin_client, Agent, "activate_agents", [inactive.pk, active.pk])
    assert response.status_code == 302
    assert set(Agent.objects.values_list("status", flat=True)) == {"active"}
    relay()
    assert Notification.objects.filter(user=inactive.created_by).count() == 1
    assert Notification.objects.filter(user=active.created_by).count() == 0
    _action(admin_client, Agent, "pause_agents", [inactive.pk, active.pk])
    assert set(Agent.objects.values_list("status", flat=True)) == {"paused"}
    relay()
    assert Notification.objects.filter(user=inactive.created_by).count() == 2
    assert Notification.objects.filter(user=active.created_by).count() == 1
    note = Notification.objects.filter(user=active.created_by).get()
    assert note.message.endswith("from active to paused")


def _agent_form(agent, **changes):
    data = {
        "name": agent.name, "description": agent.description or "", "type": agent.type, "status": agent.status,
        "created_by": str(agent.created_by_id), "team": "", "config": '{"a": 1}', "deployment_config": "{}",
        "deployments-TOTAL_FORMS": "0", "deployments-INITIAL_FORMS": "0",
        "workflows-TOTAL_FORMS": "0", "workflows-INITIAL_FORMS": "0",
    }
    data.update(changes)
    return data


def test_agent_change_form_routes_status_through_the_service(admin_client, relay):
    agent = factories.AgentFactory(status="inactive", name="Before")
    response = admin_client.post(url(Agent, "change", agent.pk), _agent_form(agent, status="error", name="After"))
    assert response.status_code == 302, response.context["adminform"].form.errors
    agent.refresh_from_db()
    assert (agent.status, agent.name, agent.config) == ("error", "After", {"a": 1})
    relay()
    note = Notification.objects.get(user=agent.created_by)
    assert (note.type, note.priority) == ("agent_status_change", "high")
    assert note.message == 'Agent "After" status changed from inactive to error'
    assert agent.last_activity is not None


def test_agent_change_form_without_status_change_sends_nothing(admin_client):
    agent = factories.AgentFactory(status="paused")
    response = admin_client.post(url(Agent, "change", agent.pk), _agent_form(agent, name="Renamed"))
    assert response.status_code == 302
    agent.refresh_from_db()
    assert (agent.name, agent.status) == ("Renamed", "paused")
    assert not Notification.objects.exists()


def test_mark_read_action_uses_the_service(admin_client):
    unread = [factories.NotificationFactory() for _ in range(3)]
    already = factories.NotificationFactory(read_at=timezone.now() - timezone.timedelta(days=1))
    response = _action(admin_client, Notification, "mark_read", [n.pk for n in unread[:2]] + [already.pk])
    assert response.status_code == 302
    read = set(Notification.objects.filter(read_at__isnull=False).values_list("pk", flat=True))
    assert read == {unread[0].pk, unread[1].pk, already.pk}
    already_before = already.read_at
    already.refresh_from_db()
    assert already.read_at == already_before


def test_workflow_inline_shows_only_the_latest_20_executions(admin_client):
    workflow = factories.WorkflowFactory()
    now = timezone.now()
    executions = [factories.WorkflowExecutionFactory(workflow=workflow, started_at=now - timezone.timedelta(minutes=i))
                  for i in range(25)]
    response = admin_client.get(url(type(workflow), "change", workflow.pk))
    formset = next(f for f in response.context["inline_admin_formsets"] if f.formset.model.__name__ == "WorkflowExecution")
    shown = [form.instance.pk for form in formset.formset.forms]
    assert shown == [e.pk for e in executions[:20]]


def test_team_change_form_has_the_roles_inline(admin_client, rows):
    team = rows["Team"]
    response = admin_client.get(url(type(team), "change", team.pk))
    inlines = [f.formset.model.__name__ for f in response.context["inline_admin_formsets"]]
    assert inlines == ["UserRole"]
    assert rows["UserRole"].user.email in response.content.decode()


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_every_foreign_key_uses_autocomplete_or_raw_id(model):
    model_admin = admin.site._registry[model]
    widgets = set(model_admin.autocomplete_fields) | set(model_admin.raw_id_fields)
    for field in model._meta.concrete_fields:
        if field.is_relation:
            assert field.name in widgets, f"{model.__name__}.{field.name} would render a dropdown"
    for inline in model_admin.inlines:
        inline_widgets = set(inline.autocomplete_fields) | set(inline.raw_id_fields) | set(inline.readonly_fields)
        shown = inline.fields or [f.name for f in inline.model._meta.concrete_fields]
        for name in shown:
            field = inline.model._meta.get_field(name)
            if field.is_relation and field.remote_field.model is not model:
                assert name in inline_widgets, f"{inline.__name__}.{name} would render a dropdown"
