"""Agent-side services and operator commands: config changes with auto-redeploy, templates,
`set_agent_status`, `purge_notifications`."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from agents.services import TemplateTeamError, agent_create_from_template, agent_update_config, deep_merge
from notifications.models import Notification
from tests.factories import AgentFactory, AgentTemplateFactory, NotificationFactory, UserRoleFactory
from workflows.models import Deployment

pytestmark = pytest.mark.django_db


def test_config_change_with_auto_redeploy_records_a_config_change_deployment(settings, queue_worker):
    settings.N8N_BASE_URL = ""
    agent = AgentFactory(deployment_config={"auto_redeploy": True})
    agent, deployment = agent_update_config(agent=agent, config={"symbols": ["XYZ"]}, actor=agent.created_by)
    assert deployment.status == "deploying"  # queued: no n8n call inside the config change
    queue_worker()
    deployment.refresh_from_db()
    assert (deployment.trigger_type, deployment.status, deployment.version) == ("config_change", "deployed", 1)
    assert deployment.trigger_config["changed"] == ["config"]
    assert Notification.objects.filter(type="deployment_success").count() == 1


def test_config_change_without_auto_redeploy_deploys_nothing():
    agent = AgentFactory(deployment_config={"auto_redeploy": False})
    agent, deployment = agent_update_config(agent=agent, config={"symbols": ["XYZ"]})
    assert deployment is None and agent.config == {"symbols": ["XYZ"]}
    assert not Deployment.objects.exists()


def test_unchanged_config_deploys_nothing():
    agent = AgentFactory(deployment_config={"auto_redeploy": True})
    assert agent_update_config(agent=agent, config=dict(agent.config))[1] is None
    assert not Deployment.objects.exists()


def test_deep_merge():
    base = {"engine": "default", "limits": {"results": 10, "depth": 2}, "tags": ["a"]}
    merged = deep_merge(base, {"limits": {"results": 50}, "tags": ["b"], "new": {"x": 1}})
    assert merged == {"engine": "default", "limits": {"results": 50, "depth": 2}, "tags": ["b"], "new": {"x": 1}}
    assert base["limits"] == {"results": 10, "depth": 2}


def test_instantiate_a_template():
    template = AgentTemplateFactory(type="websearch", default_config={"engine": "default", "limits": {"results": 10}})
    role = UserRoleFactory(role="agent_manager")
    agent = agent_create_from_template(template=template, actor=role.user, name="Mine",
                                       config={"limits": {"depth": 3}}, team=role.team)
    assert (agent.type, agent.name, agent.team_id, agent.created_by_id) == ("websearch", "Mine", role.team_id,
                                                                            role.user.pk)
    assert agent.config == {"engine": "default", "limits": {"results": 10, "depth": 3}}


def test_template_into_a_team_the_actor_does_not_manage():
    viewer = UserRoleFactory(role="viewer")
    with pytest.raises(TemplateTeamError):
        agent_create_from_template(template=AgentTemplateFactory(), actor=viewer.user, team=viewer.team)


def test_set_agent_status_command_goes_through_the_service(relay):
    agent = AgentFactory(name="Ops", status="inactive")
    out = StringIO()
    call_command("set_agent_status", str(agent.pk), "paused", stdout=out)
    assert "inactive → paused" in out.getvalue()
    relay()
    [note] = Notification.objects.filter(type="agent_status_change")
    assert note.message == 'Agent "Ops" status changed from inactive to paused'
    call_command("set_agent_status", str(agent.pk), "paused", stdout=StringIO())
    relay()
    assert Notification.objects.count() == 1


def test_set_agent_status_command_errors():
    with pytest.raises(CommandError, match="No agent"):
        call_command("set_agent_status", "not-a-uuid", "active")
    with pytest.raises(CommandError):
        call_command("set_agent_status", str(AgentFactory().pk), "sleeping")


def test_purge_notifications_deletes_only_expired_ones():
    now = timezone.now()
    expired = NotificationFactory(expires_at=now - timedelta(minutes=1))
    current = NotificationFactory(expires_at=now + timedelta(days=1))
    forever = NotificationFactory(expires_at=None)
    assert set(Notification.objects.unexpired()) == {current, forever}
    out = StringIO()
    call_command("purge_notifications", stdout=out)
    assert "Deleted 1 expired notification(s)." in out.getvalue()
    assert set(Notification.objects.all()) == {current, forever}
    assert not Notification.objects.filter(pk=expired.pk).exists()
