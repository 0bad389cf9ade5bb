"""Issue 12, point 2: one tenant took over another's n8n workflow through `n8n_workflow_id`.

The attack, as an outsider would run it against the one shared n8n (the fake, from the
recordings): the victim's workflow is linked to n8n workflow `ci8N7gTduket1YpF` (recorded
execution 1 carries the webhook call's input); the outsider owns an *older* workflow linked to
`9qAE7S1t2kkV2PNZ` and learns the victim's id (it leaks through `deployment_url`). Each test
replays one step of the attack through the REST API and checks that it reaches nothing of the
victim's: the link is a 409, deploy/stop never call n8n for the victim's workflow, the sync
copies none of its executions, the victim's callbacks still land with the victim.
"""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse

from tests.api.clients import client_as
from tests.factories import AgentFactory, UserFactory, WorkflowFactory
from workflows.models import Deployment, Workflow, WorkflowExecution
from workflows.services.hooks import sign
from workflows.services.sync import n8n_sync

pytestmark = pytest.mark.django_db

VICTIM_N8N = "ci8N7gTduket1YpF"
OUTSIDER_N8N = "9qAE7S1t2kkV2PNZ"
HOOK = "/api/v1/hooks/n8n/"


@pytest.fixture
def victim():
    agent = AgentFactory(name="Victim agent")
    return WorkflowFactory(agent=agent, n8n_workflow_id=VICTIM_N8N, webhook_secret="victim-secret")


@pytest.fixture
def outsider_workflow(victim):
    """Older than the victim's (the old callback routing preferred the oldest)."""
    agent = AgentFactory(name="Outsider agent", created_by=UserFactory(email="outsider@example.com"))
    workflow = WorkflowFactory(agent=agent, n8n_workflow_id=OUTSIDER_N8N, webhook_secret="outsider-secret")
    Workflow.objects.filter(pk=workflow.pk).update(created_at=victim.created_at - timedelta(days=1))
    return Workflow.objects.get(pk=workflow.pk)


@pytest.fixture
def outsider(outsider_workflow):
    return client_as(outsider_workflow.agent.created_by)


def try_to_link(outsider, outsider_workflow):
    """The outsider's two ways to claim the victim's n8n id: a new workflow, or PATCH its own."""
    created = outsider.post("/api/v1/workflows/", {
        "agent": str(outsider_workflow.agent_id), "name": "Mine now", "n8n_workflow_id": VICTIM_N8N,
    }, format="json")
    patched = outsider.patch(f"/api/v1/workflows/{outsider_workflow.pk}/", {"n8n_workflow_id": VICTIM_N8N},
                             format="json")
    return created, patched


def test_linking_another_tenants_n8n_workflow_is_409_naming_it(outsider, outsider_workflow, victim):
    before = Workflow.objects.count()
    created, patched = try_to_link(outsider, outsider_workflow)
    for response in (created, patched):
        assert response.status_code == 409, response.content
        error = response.json()["error"]
        assert error["code"] == "conflict" and list(error["fields"]) == ["n8n_workflow_id"]
        assert VICTIM_N8N in error["message"] and "already linked" in error["message"]
        assert str(victim.pk) not in response.content.decode()  # the other tenant's row stays unnamed
    assert Workflow.objects.count() == before
    assert Workflow.objects.get(pk=outsider_workflow.pk).n8n_workflow_id == OUTSIDER_N8N


def test_the_database_holds_the_rule_and_unlinked_workflows_are_many(victim):
    """A writer that skips every check (plain ORM here) is refused by the unique index, which the
    guard names as the same conflict; workflows without a link (NULL or '') are not limited."""
    from workflows.services.links import N8nLinkTaken, n8n_link_guard

    with pytest.raises(N8nLinkTaken, match=VICTIM_N8N), n8n_link_guard(VICTIM_N8N), transaction.atomic():
        Workflow.objects.create(agent=AgentFactory(), name="Raw write", n8n_workflow_id=VICTIM_N8N)
    for value in (None, None, "", ""):
        WorkflowFactory(n8n_workflow_id=value)
    assert Workflow.objects.filter(n8n_workflow_id__isnull=True).count() == 2
    assert Workflow.objects.filter(n8n_workflow_id="").count() == 2
    assert Workflow.objects.filter(n8n_workflow_id=VICTIM_N8N).get() == victim


def test_deploy_and_stop_never_reach_the_victims_n8n_workflow(n8n_settings, fake_n8n, outsider,
                                                              outsider_workflow, victim, queue_worker):
    try_to_link(outsider, outsider_workflow)
    deployed = outsider.post(f"/api/v1/agents/{outsider_workflow.agent_id}/deploy/", {}, format="json")
    assert deployed.status_code == 202 and deployed.json()["status"] == "deploying", deployed.content
    queue_worker()
    assert Deployment.objects.get(pk=deployed.json()["id"]).status == "deployed"
    stopped = outsider.post(f"/api/v1/deployments/{deployed.json()['id']}/stop/")
    assert stopped.status_code == 202, stopped.content
    queue_worker()
    assert Deployment.objects.get(pk=deployed.json()["id"]).status == "stopped"
    touched = [path for method, path, _ in fake_n8n.requests if method == "POST"]
    assert touched == [f"/api/v1/workflows/{OUTSIDER_N8N}/publish", f"/api/v1/workflows/{OUTSIDER_N8N}/unpublish"]
    assert not any(VICTIM_N8N in path for path in touched)


def test_sync_never_copies_the_victims_executions(n8n_client, outsider, outsider_workflow, victim):
    try_to_link(outsider, outsider_workflow)
    report = n8n_sync(client=n8n_client)
    assert report.errors == []
    assert not WorkflowExecution.objects.filter(workflow=outsider_workflow, execution_id="1").exists()
    [mine] = WorkflowExecution.objects.filter(execution_id="1")
    assert mine.workflow_id == victim.pk and mine.input_data[0]["body"] == {"agent_run": "r-1", "prompt": "hello"}


def test_a_reported_execution_id_of_the_victims_run_is_not_filled_by_the_sync(n8n_client, outsider_workflow,
                                                                             victim):
    """The outsider's own signed callback claims the victim's execution 1 as a running run of its
    workflow; the sync's refresh of unfinished rows must not copy execution 1's data into it."""
    body = json.dumps({"n8n_workflow_id": OUTSIDER_N8N, "n8n_execution_id": "1", "status": "running",
                       "ts": int(time.time())}).encode()
    response = Client().post(HOOK, body, content_type="application/json", headers={
        "X-Echelon-Signature": sign(body, "outsider-secret"), "X-Echelon-Workflow": OUTSIDER_N8N})
    assert response.status_code == 201, response.content
    report = n8n_sync(client=n8n_client)
    claimed = WorkflowExecution.objects.get(workflow=outsider_workflow, execution_id="1")
    assert (claimed.status, claimed.input_data) == ("running", None)
    # n8n's execution 1 is another workflow's run: the claimed row is marked missing, never filled
    assert report.missing == 1 and claimed.missing_at is not None
    assert WorkflowExecution.objects.get(workflow=victim, execution_id="1").status == "success"


def test_the_victim_still_gets_its_callbacks(settings, outsider, outsider_workflow, victim):
    """As in the issue: both rows sign with the global secret (rows from before per-workflow
    secrets), and the outsider's is the older one."""
    settings.N8N_WEBHOOK_SECRET = "shared-global-secret"
    Workflow.objects.filter(pk__in=[victim.pk, outsider_workflow.pk]).update(webhook_secret="")
    try_to_link(outsider, outsider_workflow)
    body = json.dumps({"n8n_workflow_id": VICTIM_N8N, "n8n_execution_id": "501", "status": "success",
                       "ts": int(time.time()), "output": {"for": "victim"}}).encode()
    response = Client().post(HOOK, body, content_type="application/json", headers={
        "X-Echelon-Signature": sign(body, "shared-global-secret"), "X-Echelon-Workflow": VICTIM_N8N})
    assert response.status_code == 201, response.content
    assert response.json()["workflow"] == str(victim.pk)
    assert WorkflowExecution.objects.get(execution_id="501").workflow_id == victim.pk
    assert not WorkflowExecution.objects.filter(workflow=outsider_workflow).exists()


def test_a_workflow_created_over_the_api_has_its_own_secret_shown_once(settings, outsider, outsider_workflow):
    settings.N8N_WEBHOOK_SECRET = "shared-global-secret"
    response = outsider.post("/api/v1/workflows/", {
        "agent": str(outsider_workflow.agent_id), "name": "Fresh", "n8n_workflow_id": "Fresh0000000001",
    }, format="json")
    assert response.status_code == 201, response.content
    secret = response.json()["webhook_secret"]
    assert len(secret) >= 40 and secret != "shared-global-secret"
    row = Workflow.objects.get(pk=response.json()["id"])
    assert row.webhook_secret == secret
    # never again: retrieve, list, update answers
    assert "webhook_secret" not in outsider.get(f"/api/v1/workflows/{row.pk}/").json()
    listed = outsider.get("/api/v1/workflows/").json()["results"]
    assert listed and all("webhook_secret" not in item for item in listed)
    assert "webhook_secret" not in outsider.patch(f"/api/v1/workflows/{row.pk}/", {"name": "F"},
                                                  format="json").json()
    # the global secret does not sign for it; its own does
    body = json.dumps({"n8n_execution_id": "1", "ts": int(time.time())}).encode()
    for key, expected in (("shared-global-secret", 401), (secret, 201)):
        answer = Client().post(HOOK, body, content_type="application/json", headers={
            "X-Echelon-Signature": sign(body, key), "X-Echelon-Workflow": "Fresh0000000001"})
        assert answer.status_code == expected, answer.content


def test_rotate_secret_answers_the_new_one_once_and_the_old_one_stops_working(outsider, outsider_workflow):
    url = f"/api/v1/workflows/{outsider_workflow.pk}/rotate-secret/"
    first = outsider.post(url)
    assert first.status_code == 200, first.content
    assert set(first.json()) == {"id", "webhook_secret"}
    second = outsider.post(url).json()["webhook_secret"]
    assert second != first.json()["webhook_secret"]
    assert Workflow.objects.get(pk=outsider_workflow.pk).webhook_secret == second
    body = json.dumps({"n8n_execution_id": "7", "ts": int(time.time())}).encode()
    for key, expected in (("outsider-secret", 401), (first.json()["webhook_secret"], 401), (second, 201)):
        answer = Client().post(HOOK, body, content_type="application/json", headers={
            "X-Echelon-Signature": sign(body, key), "X-Echelon-Workflow": OUTSIDER_N8N})
        assert answer.status_code == expected, (key, answer.content)


def test_rotate_secret_follows_the_row_policy(outsider_workflow, victim):
    from accounts.models import Role
    from tests.factories import TeamFactory, UserRoleFactory

    team = TeamFactory()  # the victim's agent joins a team with a viewer
    victim.agent.team = team
    victim.agent.save()
    viewer = UserFactory()
    UserRoleFactory(user=viewer, team=team, role=Role.VIEWER)
    url = f"/api/v1/workflows/{victim.pk}/rotate-secret/"
    assert client_as(viewer).post(url).status_code == 403
    assert client_as(outsider_workflow.agent.created_by).post(url).status_code == 404
    assert Workflow.objects.get(pk=victim.pk).webhook_secret == "victim-secret"
    assert client_as(victim.agent.created_by).post(url).status_code == 200


def test_the_admin_refuses_the_link_with_409_and_writes_nothing(superuser, outsider_workflow, victim):
    client = Client()
    client.force_login(superuser)
    url = reverse("admin:workflows_workflow_change", args=[outsider_workflow.pk])
    form = {"name": outsider_workflow.name, "description": "", "agent": str(outsider_workflow.agent_id),
            "status": "inactive", "n8n_workflow_id": VICTIM_N8N, "trigger_config": "{}", "next_execution_0": "",
            "next_execution_1": "", "executions-TOTAL_FORMS": "0", "executions-INITIAL_FORMS": "0"}
    response = client.post(url, form)
    assert response.status_code == 409
    errors = response.context["adminform"].form.errors
    assert errors["n8n_workflow_id"] == ["This n8n workflow is already linked to another Echelon workflow."]
    assert Workflow.objects.get(pk=outsider_workflow.pk).n8n_workflow_id == OUTSIDER_N8N
    added = client.post(reverse("admin:workflows_workflow_add"), {**form, "name": "Added"})
    assert added.status_code == 409 and not Workflow.objects.filter(name="Added").exists()
    fine = client.post(url, {**form, "n8n_workflow_id": "Elsewhere000001"})
    assert fine.status_code == 302, fine.context and fine.context["adminform"].form.errors


def test_the_migration_resolves_existing_duplicate_links():
    """Migration 0004 on data written before the index of 0005: one agent's duplicates keep the oldest
    link; links shared across agents are all removed and each owner is told."""
    import importlib

    from django.apps import apps
    from django.db import connection

    from notifications.models import Notification

    migration = importlib.import_module("workflows.migrations.0004_unlink_duplicate_n8n_links")
    with connection.cursor() as cursor:  # as before the migration (rolled back with the test)
        cursor.execute("DROP INDEX workflows_n8n_workflow_id_unique")
    same_agent = AgentFactory()
    kept = WorkflowFactory(agent=same_agent, n8n_workflow_id="Same")
    twin = WorkflowFactory(agent=same_agent, n8n_workflow_id="Same")
    victim, intruder = WorkflowFactory(n8n_workflow_id="Shared"), WorkflowFactory(n8n_workflow_id="Shared")
    alone = WorkflowFactory(n8n_workflow_id="Alone")
    Workflow.objects.filter(pk=twin.pk).update(created_at=kept.created_at + timedelta(seconds=1))

    migration.unlink_duplicates(apps, None)

    links = dict(Workflow.objects.values_list("pk", "n8n_workflow_id"))
    assert (links[kept.pk], links[twin.pk], links[victim.pk], links[intruder.pk], links[alone.pk]) == (
        "Same", None, None, None, "Alone")
    told = Notification.objects.filter(data__reason="duplicate_n8n_link")
    assert sorted(n.data["workflow_id"] for n in told) == sorted(str(w.pk) for w in (twin, victim, intruder))
    assert {(n.type, n.priority) for n in told} == {("system", "high")}
    assert told.get(data__workflow_id=str(victim.pk)).user_id == victim.agent.created_by_id
    with connection.cursor() as cursor:  # the index can now be built (after the rows' FK checks)
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute('CREATE UNIQUE INDEX workflows_n8n_workflow_id_unique ON workflows (n8n_workflow_id) '
                       "WHERE n8n_workflow_id > ''")
