"""Deployments: the state machine, versions, backends (local and the fake n8n), notifications."""

from __future__ import annotations

import pytest
from django.db import transaction

from notifications.models import Notification
from tests.factories import AgentFactory, DeploymentFactory, UserRoleFactory, WorkflowFactory
from workflows.models import Deployment
from workflows.n8n.backends import LocalBackend, PublishResult
from workflows.services import DeploymentStateError, agent_deploy, deployment_finish, deployment_stop
from workflows.services.deployments import _transition

pytestmark = pytest.mark.django_db


def notes(user, type_):
    return list(Notification.objects.filter(user=user, type=type_))


def test_local_deploy_completes_immediately_and_notifies(settings, relay):
    settings.N8N_BASE_URL = ""
    agent = AgentFactory(name="Scout", status="inactive")
    deployment = agent_deploy(agent=agent, actor=agent.created_by)
    assert (deployment.version, deployment.status, deployment.trigger_type) == (1, "deployed", "manual")
    assert deployment.deployment_url == f"local://agents/{agent.pk}/v1"
    assert deployment.deployed_at is not None and deployment.error_message is None
    assert deployment.trigger_config == {"requested_by": str(agent.created_by.pk)}
    [success] = notes(agent.created_by, "deployment_success")
    assert success.message == 'Agent "Scout" version 1 is deployed'
    assert success.data["deployment_id"] == str(deployment.pk)
    agent.refresh_from_db()
    assert agent.status == "active"
    relay()
    assert len(notes(agent.created_by, "agent_status_change")) == 1


def test_new_deployment_stops_the_previous_live_one(relay):
    agent = AgentFactory()
    first = agent_deploy(agent=agent, backend=LocalBackend())
    second = agent_deploy(agent=agent, backend=LocalBackend())
    first.refresh_from_db()
    assert (first.status, second.status, second.version) == ("stopped", "deployed", 2)
    assert first.stopped_at is not None
    assert Deployment.objects.filter(agent=agent, status="deployed").count() == 1
    # the agent was already active: one status notification in all, two success notifications
    relay()
    assert len(notes(agent.created_by, "agent_status_change")) == 1
    assert len(notes(agent.created_by, "deployment_success")) == 2


@pytest.mark.parametrize("start,target", [
    ("pending", "deployed"), ("deploying", "stopped"), ("deployed", "deploying"),
    ("failed", "deployed"), ("stopped", "deployed"), ("deployed", "failed"),
])
def test_illegal_transitions_raise(start, target):
    deployment = DeploymentFactory(status=start)
    with pytest.raises(DeploymentStateError, match=f"is {start}; it cannot become {target}"):
        _transition(deployment, target)
    deployment.refresh_from_db()
    assert deployment.status == start


def test_stopping_a_stopped_deployment_is_refused():
    agent = AgentFactory()
    deployment = agent_deploy(agent=agent, backend=LocalBackend())
    deployment_stop(deployment=deployment, backend=LocalBackend())
    with pytest.raises(DeploymentStateError, match="is stopped; it cannot become stopped"):
        deployment_stop(deployment=deployment, backend=LocalBackend())


def test_stop_makes_the_agent_inactive():
    agent = AgentFactory()
    deployment = deployment_stop(deployment=agent_deploy(agent=agent, backend=LocalBackend()),
                                 backend=LocalBackend())
    agent.refresh_from_db()
    assert (deployment.status, agent.status) == ("stopped", "inactive")
    assert deployment.stopped_at is not None


def test_outcome_rolls_back_with_its_notification():
    agent = AgentFactory(status="inactive")
    deployment = Deployment.objects.create(agent=agent, version=1, status="deploying", trigger_type="manual")
    with pytest.raises(RuntimeError), transaction.atomic():
        deployment_finish(deployment=deployment, result=PublishResult(ok=True, deployment_url="x"))
        raise RuntimeError("abort")
    deployment.refresh_from_db()
    agent.refresh_from_db()
    assert (deployment.status, agent.status) == ("deploying", "inactive")
    assert not Notification.objects.exists()


# --- with n8n (the fake) ----------------------------------------------------------------------
def test_n8n_deploy_publishes_the_agents_workflows(n8n_settings, fake_n8n, n8n_url):
    agent = AgentFactory()
    WorkflowFactory(agent=agent, n8n_workflow_id="ci8N7gTduket1YpF")
    WorkflowFactory(agent=agent, n8n_workflow_id="9qAE7S1t2kkV2PNZ")
    deployment = agent_deploy(agent=agent)
    assert deployment.status == "deployed"
    assert deployment.deployment_url == f"{n8n_url}/workflow/ci8N7gTduket1YpF"
    assert fake_n8n.workflows["ci8N7gTduket1YpF"]["active"] and fake_n8n.workflows["9qAE7S1t2kkV2PNZ"]["active"]
    deployment_stop(deployment=deployment)
    assert not fake_n8n.workflows["ci8N7gTduket1YpF"]["active"]
    assert not fake_n8n.workflows["9qAE7S1t2kkV2PNZ"]["active"]


def test_n8n_400_fails_the_deployment_with_n8ns_message(n8n_settings, fake_n8n):
    fake_n8n.add_workflow({"name": "manual", "nodes": [
        {"id": "m", "name": "Manual", "type": "n8n-nodes-base.manualTrigger", "parameters": {}}]}, "ManualOnly")
    agent = AgentFactory(status="inactive")
    WorkflowFactory(agent=agent, n8n_workflow_id="ManualOnly")
    deployment = agent_deploy(agent=agent)
    assert deployment.status == "failed"
    assert "has no trigger node" in deployment.error_message
    assert "(HTTP 400)" in deployment.error_message
    [failed] = notes(agent.created_by, "deployment_failed")
    assert failed.priority == "high" and failed.data["error"] == deployment.error_message
    agent.refresh_from_db()
    assert agent.status == "inactive"


def test_n8n_409_rolls_back_what_was_published(n8n_settings, fake_n8n):
    fake_n8n.add_workflow(fake_n8n.workflows["ci8N7gTduket1YpF"], "Twin0000000000wf", active=True)
    agent = AgentFactory()
    WorkflowFactory(agent=agent, n8n_workflow_id="9qAE7S1t2kkV2PNZ")
    WorkflowFactory(agent=agent, n8n_workflow_id="ci8N7gTduket1YpF")
    deployment = agent_deploy(agent=agent)
    assert deployment.status == "failed" and "conflict with one of the webhooks" in deployment.error_message
    assert fake_n8n.workflows["9qAE7S1t2kkV2PNZ"]["active"] is False  # unpublished again


def test_n8n_unknown_workflow_fails(n8n_settings):
    agent = AgentFactory()
    WorkflowFactory(agent=agent, n8n_workflow_id="gone")
    deployment = agent_deploy(agent=agent)
    assert deployment.status == "failed" and "(HTTP 404)" in deployment.error_message


def test_agent_without_n8n_workflow_fails_under_n8n(n8n_settings):
    deployment = agent_deploy(agent=AgentFactory())
    assert deployment.status == "failed" and "no workflow linked" in deployment.error_message


# --- HTTP: deploy and stop answer 202 at once, the queue's worker calls n8n (issue 18) -----------
def test_deploy_endpoint_answers_202_deploying_and_the_worker_deploys(client_for, settings, queue_worker):
    settings.N8N_BASE_URL = ""
    agent = AgentFactory()
    response = client_for(agent.created_by).post(f"/api/v1/agents/{agent.pk}/deploy/",
                                                 {"trigger_config": {"note": "go"}}, format="json")
    assert response.status_code == 202, response.content
    assert response.json()["status"] == "deploying" and response.json()["version"] == 1
    assert response.json()["trigger_config"]["note"] == "go"
    queue_worker()
    deployment = Deployment.objects.get(pk=response.json()["id"])
    assert deployment.status == "deployed" and deployment.deployment_url == f"local://agents/{agent.pk}/v1"
    assert len(notes(agent.created_by, "deployment_success")) == 1


def test_deploy_request_does_not_call_n8n(client_for, n8n_settings, fake_n8n, queue_worker):
    agent = AgentFactory()
    WorkflowFactory(agent=agent, n8n_workflow_id="ci8N7gTduket1YpF")
    response = client_for(agent.created_by).post(f"/api/v1/agents/{agent.pk}/deploy/", {}, format="json")
    assert response.status_code == 202 and response.json()["status"] == "deploying"
    assert fake_n8n.requests == []  # the request path made no n8n call
    queue_worker()
    assert Deployment.objects.get(pk=response.json()["id"]).status == "deployed"
    assert [path for _, path, _ in fake_n8n.requests] == ["/api/v1/workflows/ci8N7gTduket1YpF/publish"]


def test_deployments_have_one_creation_path_the_deploy_action(client_for, settings, queue_worker):
    """Issue 19: no CRUD create beside `agent_deploy` (which queues its publish, issue 18)."""
    settings.N8N_BASE_URL = ""
    agent = AgentFactory()
    client = client_for(agent.created_by)
    refused = client.post("/api/v1/deployments/", {"agent": str(agent.pk), "trigger_type": "manual"}, format="json")
    assert refused.status_code == 405 and not Deployment.objects.exists(), refused.content
    created = client.post(f"/api/v1/agents/{agent.pk}/deploy/", {}, format="json")
    assert created.status_code == 202 and created.json()["status"] == "deploying", created.content
    queue_worker()
    assert Deployment.objects.get(pk=created.json()["id"]).status == "deployed"


def test_deploy_endpoint_access(client_for):
    agent = AgentFactory(team=UserRoleFactory().team)
    viewer = UserRoleFactory(team=agent.team, role="viewer").user
    outsider = AgentFactory().created_by
    url = f"/api/v1/agents/{agent.pk}/deploy/"
    assert client_for(outsider).post(url, {}, format="json").status_code == 404
    assert client_for(viewer).post(url, {}, format="json").status_code == 403
    assert client_for(None).post(url, {}, format="json").status_code == 401
    error = client_for(agent.created_by).post(url, {"trigger_config": []}, format="json").json()["error"]
    assert (error["code"], error["message"]) == ("invalid", "trigger_config must be an object")
    assert list(error["fields"]) == ["trigger_config"]
    assert not Deployment.objects.exists()


def test_stop_endpoint_answers_202_stopping_then_the_worker_stops_and_its_409(client_for, settings, queue_worker):
    settings.N8N_BASE_URL = ""
    agent = AgentFactory()
    deployment = agent_deploy(agent=agent, backend=LocalBackend())
    client = client_for(agent.created_by)
    url = f"/api/v1/deployments/{deployment.pk}/stop/"
    response = client.post(url)
    assert response.status_code == 202 and response.json()["status"] == "stopping"
    twice = client.post(url)
    assert twice.status_code == 409 and twice.json()["error"]["current"] == "stopping"
    queue_worker()
    deployment.refresh_from_db()
    agent.refresh_from_db()
    assert (deployment.status, agent.status) == ("stopped", "inactive")
    again = client.post(url)
    assert again.status_code == 409
    assert again.json()["error"]["message"].startswith("Deployment v1 is stopped; it cannot become stopping")
    assert client_for(AgentFactory().created_by).post(url).status_code == 404


def test_stop_when_n8n_refuses_to_unpublish_goes_back_to_deployed(client_for, n8n_settings, fake_n8n, queue_worker):
    agent = AgentFactory()
    WorkflowFactory(agent=agent, n8n_workflow_id="ci8N7gTduket1YpF")
    deployment = agent_deploy(agent=agent)
    n8n_settings.N8N_API_KEY = "revoked"
    response = client_for(agent.created_by).post(f"/api/v1/deployments/{deployment.pk}/stop/")
    assert response.status_code == 202 and response.json()["status"] == "stopping"
    queue_worker()
    deployment.refresh_from_db()
    assert deployment.status == "deployed" and fake_n8n.workflows["ci8N7gTduket1YpF"]["active"] is True
    assert deployment.error_message == "n8n refused to unpublish: Unauthorized (HTTP 401)"


# --- issue 12, points 12 and 11: audit fields from the server; storable trigger_config -------
def test_requested_by_is_the_server_s_whatever_the_client_sends(settings):
    from tests.api.clients import client_as

    settings.N8N_BASE_URL = ""
    agent = AgentFactory()
    forged = str(AgentFactory().created_by_id)  # someone else's id
    owner = client_as(agent.created_by)
    deployed = owner.post(f"/api/v1/agents/{agent.pk}/deploy/",
                          {"trigger_config": {"requested_by": forged, "note": "x"}}, format="json")
    assert deployed.status_code == 202, deployed.content
    assert deployed.json()["trigger_config"] == {"requested_by": str(agent.created_by_id), "note": "x"}
    assert not Deployment.objects.filter(trigger_config__requested_by=forged).exists()
    # without an actor (e.g. a service call) there is no requested_by at all, never the client's
    assert agent_deploy(agent=agent, trigger_config={"requested_by": forged}).trigger_config == {}


@pytest.mark.parametrize("config,path", [({"a": "\x00"}, "trigger_config.a"),
                                         ({"deep": {"\x00": 1}}, "trigger_config.deep.'\\x00'")])
def test_deploy_with_an_unstorable_trigger_config_is_400_and_writes_nothing(config, path):
    from tests.api.clients import client_as

    agent = AgentFactory()
    response = client_as(agent.created_by).post(f"/api/v1/agents/{agent.pk}/deploy/", {"trigger_config": config},
                                                format="json")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert list(error["fields"]) == ["trigger_config"] and error["message"].startswith(path)
    assert not Deployment.objects.filter(agent=agent).exists()


def test_the_admin_keeps_requested_by_the_servers(superuser, settings):
    """The admin makes no deployment by form (issue 19); its redeploy action records the
    operator who asked, whatever the previous deployment's trigger_config said."""
    from django.test import Client
    from django.urls import reverse

    settings.N8N_BASE_URL = ""
    agent = AgentFactory()
    client = Client()
    client.force_login(superuser)
    assert client.get(reverse("admin:workflows_deployment_add")).status_code == 403
    first = agent_deploy(agent=agent, trigger_config={"note": 1})
    Deployment.objects.filter(pk=first.pk).update(trigger_config={"requested_by": "forged", "note": 1})
    done = client.post(reverse("admin:workflows_deployment_changelist"),
                       {"action": "redeploy", "_selected_action": [first.pk]})
    assert done.status_code == 302
    assert Deployment.objects.get(agent=agent, version=2).trigger_config == {"requested_by": str(superuser.pk),
                                                                            "note": 1}
