"""The reconciler: Echelon owns the desired state, n8n's `active` flags are compared with it.

Which deployment of an agent is live is Echelon's to say; what n8n publishes is read once per
pass (`GET /workflows?active=true`, one request for up to 250 workflows). Per agent with linked
workflows, in this order:

1. a `deploying` deployment younger than `STALE_AFTER` has a worker on it: the agent is left alone;
2. an `unknown` deployment (n8n did not answer its publish) or a stale `deploying` one (its worker
   died mid-call) is resolved from what n8n did: every linked workflow published → deployed,
   otherwise failed, each with its notification (n8n's state speaks for the newest one only:
   older ones are superseded);
3. a `stopping` deployment is finished: what is still published is unpublished, then stopped;
4. the difference left is repaired: with a live deployment every linked workflow must be
   published (republished otherwise), without one none may be (unpublished otherwise). What was
   done is written on the deployment (`reconcile_note`) and the owner is notified.

`workflows.status` follows n8n: `active` when published, `inactive` when not (a workflow in
`error` or `paused` keeps that status while unpublished). Every write is its own short
transaction; no transaction spans an n8n call.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from agents.models import Agent
from notifications.models import NotificationType
from notifications.services import notification_create
from workflows.models import Deployment, DeploymentStatus, Workflow
from workflows.n8n.backends import PublishResult, n8n_reason
from workflows.n8n.client import N8nClient, N8nError, N8nNotFound
from workflows.services.deployments import (
    STALE_AFTER, DeploymentStateError, _record_stop, _transition, deployment_finish, workflows_follow_n8n,
)

log = logging.getLogger(__name__)
S = DeploymentStatus


@dataclass
class ReconcileReport:
    agents: int = 0
    resolved: int = 0
    republished: int = 0
    unpublished: int = 0
    workflow_status_changes: int = 0
    errors: list[str] = field(default_factory=list)


def _in_flight_since(deployment: Deployment):
    run_at = deployment.run_at
    return max(deployment.created_at, run_at) if run_at is not None else deployment.created_at


def _notify(agent_id, deployment: Deployment | None, message: str) -> None:
    agent = Agent.objects.filter(pk=agent_id).only("pk", "name", "created_by_id").first()
    if agent is None or agent.created_by_id is None:
        return
    notification_create(
        user_id=agent.created_by_id, type=NotificationType.SYSTEM, title="n8n reconciled",
        message=f'Agent "{agent.name}": {message}',
        data={"agent_id": str(agent.pk), "deployment_id": str(deployment.pk) if deployment else None,
              "reconciled": message},
    )


@transaction.atomic
def _note(deployment: Deployment | None, agent_id, message: str) -> None:
    if deployment is not None:
        Deployment.objects.filter(pk=deployment.pk).update(
            reconcile_note=f"{timezone.now().isoformat(timespec='seconds')}: {message}")
    _notify(agent_id, deployment, message)


def _toggle(client: N8nClient, ids: list[str], *, publish: bool, report: ReconcileReport) -> list[str]:
    """Publish or unpublish `ids`; the ids done (a 404 on unpublish counts as done)."""
    done = []
    for n8n_id in ids:
        try:
            (client.publish_workflow if publish else client.unpublish_workflow)(n8n_id)
        except N8nNotFound:
            if not publish:
                done.append(n8n_id)
                continue
            report.errors.append(f"n8n workflow {n8n_id}: not found in n8n")
            continue
        except N8nError as exc:
            report.errors.append(f"n8n workflow {n8n_id}: {n8n_reason(exc)}")
            continue
        done.append(n8n_id)
    return done


def _resolve_unknown(client: N8nClient, deployment: Deployment, ids: list[str], active: set[str],
                     report: ReconcileReport) -> None:
    published = [i for i in ids if i in active]
    if published and len(published) == len(ids):
        result = PublishResult(ok=True, deployment_url=f"{client.base_url}/workflow/{ids[0]}", note=(
            f"{timezone.now().isoformat(timespec='seconds')}: n8n had published "
            f"{', '.join(ids)}; outcome resolved by the reconcile pass"))
    else:
        missing = [i for i in ids if i not in active]
        result = PublishResult(ok=False, error=(
            f"n8n did not publish {', '.join(missing)} (seen by the reconcile pass after "
            f"{'an unanswered publish' if deployment.status == S.UNKNOWN else 'the deploying worker stopped'})"))
    try:
        deployment_finish(deployment=deployment, result=result)
    except DeploymentStateError:
        return  # finished by its worker meanwhile
    report.resolved += 1


@transaction.atomic
def _supersede(deployment: Deployment, newest: Deployment, report: ReconcileReport) -> None:
    """An older deployment whose outcome was never known: a newer one decides n8n's state."""
    locked = Deployment.objects.select_for_update().get(pk=deployment.pk)
    note = f"{timezone.now().isoformat(timespec='seconds')}: superseded by v{newest.version} before its outcome was known"
    if locked.status == S.UNKNOWN:
        _transition(locked, S.STOPPED, stopped_at=timezone.now(), reconcile_note=note)
    elif locked.status == S.DEPLOYING:
        _transition(locked, S.FAILED, error_message=f"Superseded by v{newest.version}", reconcile_note=note)
    else:
        return
    report.resolved += 1


def _reconcile_agent(client: N8nClient, agent_id, ids: list[str], active: set[str], report: ReconcileReport,
                     stale_before) -> None:
    open_ones = list(Deployment.objects.filter(
        agent_id=agent_id, status__in=[S.DEPLOYING, S.UNKNOWN, S.STOPPING, S.DEPLOYED]).order_by("-version"))
    if any(d.status == S.DEPLOYING and _in_flight_since(d) >= stale_before for d in open_ones):
        return  # a worker is publishing: its outcome decides
    unresolved = [d for d in open_ones if d.status in (S.DEPLOYING, S.UNKNOWN)]
    if unresolved:
        newest, *older = unresolved  # n8n's state says something about the newest only
        _resolve_unknown(client, newest, ids, active, report)
        for deployment in older:
            _supersede(deployment, newest, report)
    for deployment in Deployment.objects.filter(agent_id=agent_id, status=S.STOPPING):
        published = [i for i in ids if i in active]
        done = _toggle(client, published, publish=False, report=report)
        active.difference_update(done)
        if len(done) == len(published):
            try:
                _record_stop(deployment=deployment)
            except DeploymentStateError:
                continue
            report.resolved += 1
    live = Deployment.objects.filter(agent_id=agent_id, status=S.DEPLOYED).order_by("-version").first()
    if live is not None:
        wrong = [i for i in ids if i not in active]
        done = _toggle(client, wrong, publish=True, report=report)
        active.update(done)
        if done:
            report.republished += len(done)
            _note(live, agent_id, f"n8n had unpublished {', '.join(done)} of the live deployment "
                                  f"v{live.version}; republished")
    else:
        wrong = [i for i in ids if i in active]
        done = _toggle(client, wrong, publish=False, report=report)
        active.difference_update(done)
        if done:
            report.unpublished += len(done)
            latest = Deployment.objects.filter(agent_id=agent_id).order_by("-version").first()
            _note(latest, agent_id, f"n8n had {', '.join(done)} published while no deployment is live; unpublished")


def reconcile(*, client: N8nClient, stale_after: timedelta | None = None, now=None) -> ReconcileReport:
    """One pass over every agent with linked workflows; an N8nError reading the active list
    propagates (nothing can be compared), one agent's failing call does not stop the others."""
    stale_before = (now or timezone.now()) - (STALE_AFTER if stale_after is None else stale_after)
    active = client.active_workflow_ids()
    linked = (Workflow.objects.exclude(n8n_workflow_id__isnull=True).exclude(n8n_workflow_id="")
              .order_by("created_at").values_list("agent_id", "n8n_workflow_id"))
    by_agent: dict = defaultdict(list)
    for agent_id, n8n_id in linked:
        if agent_id is not None:
            by_agent[agent_id].append(n8n_id)
    report = ReconcileReport()
    for agent_id, ids in by_agent.items():
        try:
            _reconcile_agent(client, agent_id, ids, active, report, stale_before)
        except N8nError as exc:
            report.errors.append(f"agent {agent_id}: {n8n_reason(exc)}")
        report.agents += 1
    all_linked = Workflow.objects.exclude(n8n_workflow_id__isnull=True).exclude(n8n_workflow_id="")
    report.workflow_status_changes = (
        workflows_follow_n8n(all_linked.filter(n8n_workflow_id__in=active), live=True)
        + workflows_follow_n8n(all_linked.exclude(n8n_workflow_id__in=active), live=False))
    return report
