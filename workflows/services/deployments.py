"""The deployment state machine: pending → deploying → deployed | failed; deployed → stopped;
pending → stopped (a scheduled deployment cancelled before its time).

A deployment's `version` is max+1 per agent, computed while the agent row is locked, and the
database's `deployments_agent_version_unique` constraint backs it up. A deployment reaching
`deployed` stops the agent's previous live one in the same transaction, so an agent has at most
one live deployment; with concurrent deploys the last one to finish is live, which is also what
n8n ends up publishing.

No transaction is held open across the backend's HTTP calls: the deployment moves to
`deploying` and commits, the backend publishes, then the outcome is recorded in a new
transaction together with its notification (and the agent's status change).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from agents.models import Agent, AgentStatus
from agents.services import agent_set_status
from echelon.errors import Conflict
from notifications.services import notify_deployment_outcome
from workflows.models import Deployment, DeploymentStatus, TriggerType
from workflows.n8n.backends import DeploymentBackend, PublishResult, backend_for_settings
from workflows.services.scheduling import due_deployments, scheduled_config

log = logging.getLogger(__name__)

S = DeploymentStatus
INTERRUPTED_AFTER = timedelta(minutes=10)
TRANSITIONS: dict[str, frozenset[str]] = {
    S.PENDING: frozenset({S.DEPLOYING, S.STOPPED}),
    S.DEPLOYING: frozenset({S.DEPLOYED, S.FAILED}),
    S.DEPLOYED: frozenset({S.STOPPED}),
    S.FAILED: frozenset(),
    S.STOPPED: frozenset(),
}


class DeploymentStateError(Exception):
    """An illegal transition (the API answers 409 with this message)."""

    def __init__(self, deployment: Deployment, target: str):
        allowed = ", ".join(sorted(TRANSITIONS.get(deployment.status, ()))) or "none (final state)"
        super().__init__(
            f"Deployment v{deployment.version} is {deployment.status}; it cannot become {target} "
            f"(allowed from {deployment.status}: {allowed})"
        )
        self.current, self.target = deployment.status, target


def _transition(deployment: Deployment, target: str, **fields) -> None:
    """Move a locked deployment to `target`, or raise DeploymentStateError."""
    if target not in TRANSITIONS.get(deployment.status, ()):
        raise DeploymentStateError(deployment, target)
    deployment.status = target
    for name, value in fields.items():
        setattr(deployment, name, value)
    deployment.save(update_fields=["status", *fields])


# Keys of trigger_config written by the server only (issue 12, point 12): a client's value is
# dropped, not refused, so a stored trigger_config sent back as it was (redeploying with the
# previous settings) still works.
AUDIT_KEYS = ("requested_by",)


def audited_trigger_config(config: dict | None, *, actor=None, previous: dict | None = None) -> dict:
    """`config` with the server's audit fields: on creation `requested_by` is the actor (absent
    without one); on a change (`previous` given) the stored values stay."""
    audited = {key: value for key, value in (config or {}).items() if key not in AUDIT_KEYS}
    if previous is not None:
        audited.update({key: previous[key] for key in AUDIT_KEYS if key in (previous or {})})
    elif actor is not None and getattr(actor, "pk", None) is not None:
        audited["requested_by"] = str(actor.pk)
    return audited


def _n8n_workflow_ids(agent_id) -> list[str]:
    from workflows.models import Workflow

    ids = Workflow.objects.filter(agent_id=agent_id).exclude(n8n_workflow_id__isnull=True).exclude(
        n8n_workflow_id=""
    ).order_by("created_at").values_list("n8n_workflow_id", flat=True)
    return list(dict.fromkeys(ids))


@transaction.atomic
def deployment_create(*, agent: Agent, trigger_type: str = TriggerType.MANUAL, trigger_config: dict | None = None,
                      actor=None) -> Deployment:
    """Record a pending deployment with the agent's next version (agent row locked).

    A scheduled one needs `trigger_config.run_at` (ScheduleError otherwise; see scheduling)."""
    if trigger_type not in TriggerType.values:
        raise ValueError(f"Unknown trigger_type {trigger_type!r}; expected one of {', '.join(TriggerType.values)}")
    config = audited_trigger_config(trigger_config, actor=actor)
    if trigger_type == TriggerType.SCHEDULED:
        config = scheduled_config(config)
    Agent.objects.select_for_update().filter(pk=agent.pk).values_list("pk", flat=True).get()
    current = Deployment.objects.filter(agent_id=agent.pk).aggregate(v=Max("version"))["v"] or 0
    return Deployment.objects.create(
        agent_id=agent.pk, version=current + 1, status=S.PENDING, trigger_type=trigger_type, trigger_config=config
    )


def deployment_run(*, deployment: Deployment, backend: DeploymentBackend | None = None) -> Deployment:
    """pending → deploying (committed), publish through the backend, then record the outcome."""
    with transaction.atomic():
        locked = Deployment.objects.select_for_update().get(pk=deployment.pk)
        _transition(locked, S.DEPLOYING)
    own_backend = backend is None
    backend = backend or backend_for_settings()
    try:
        result = backend.publish(
            agent_id=locked.agent_id, version=locked.version, n8n_workflow_ids=_n8n_workflow_ids(locked.agent_id)
        )
    except Exception as exc:  # a bug or an unexpected library error must not leave it "deploying"
        log.exception("Deployment %s: backend %s raised", locked.pk, backend.name)
        result = PublishResult(ok=False, error=f"{type(exc).__name__}: {exc}")
    finally:
        if own_backend and hasattr(backend, "close"):
            backend.close()
    return deployment_finish(deployment=locked, result=result)


@transaction.atomic
def deployment_finish(*, deployment: Deployment, result: PublishResult) -> Deployment:
    """deploying → deployed (stopping the previous live one, agent → active) or → failed.

    The owner's `deployment_success` / `deployment_failed` notification is created here, in the
    same transaction.
    """
    agent = Agent.objects.select_for_update().get(pk=deployment.agent_id)
    locked = Deployment.objects.select_for_update().get(pk=deployment.pk)
    now = timezone.now()
    if result.ok:
        for previous in Deployment.objects.select_for_update().filter(agent_id=agent.pk, status=S.DEPLOYED).exclude(
            pk=locked.pk
        ):
            _transition(previous, S.STOPPED, stopped_at=now)
        _transition(locked, S.DEPLOYED, deployed_at=now, deployment_url=result.deployment_url, error_message=None)
        agent_set_status(agent=agent, status=AgentStatus.ACTIVE)
    else:
        _transition(locked, S.FAILED, error_message=result.error or "Deployment failed")
    notify_deployment_outcome(deployment=locked, agent=agent)
    return locked


def agent_deploy(*, agent: Agent, actor=None, trigger_type: str = TriggerType.MANUAL,
                 trigger_config: dict | None = None, backend: DeploymentBackend | None = None) -> Deployment:
    """Create the next deployment of `agent` and run it to deployed or failed (a scheduled one
    stays pending until `deployments_run_due` runs it)."""
    deployment = deployment_create(agent=agent, trigger_type=trigger_type, trigger_config=trigger_config, actor=actor)
    if trigger_type == TriggerType.SCHEDULED:
        return deployment
    return deployment_run(deployment=deployment, backend=backend)


def deployments_run_due(*, now=None, backend: DeploymentBackend | None = None) -> list[Deployment]:
    """Run every scheduled deployment whose `run_at` has come; returns those this call ran.

    Safe with several runners: `deployment_run` claims a deployment (pending → deploying) under
    a row lock, and a runner that finds it claimed or cancelled skips it."""
    ran = []
    for deployment in due_deployments(now=now):
        try:
            ran.append(deployment_run(deployment=deployment, backend=backend))
        except DeploymentStateError:
            log.info("Scheduled deployment %s was taken or cancelled meanwhile", deployment.pk)
    return ran


def deployment_stop(*, deployment: Deployment, actor=None, backend: DeploymentBackend | None = None) -> Deployment:
    """deployed → stopped: unpublish in n8n first (outside any transaction), then record it.

    n8n errors other than 404 propagate (the deployment stays deployed). When no other
    deployment of the agent is live the agent becomes inactive. A pending deployment (one
    scheduled for later) is cancelled: stopped without calling n8n.
    """
    current = Deployment.objects.get(pk=deployment.pk)
    if S.STOPPED not in TRANSITIONS.get(current.status, ()):
        raise DeploymentStateError(current, S.STOPPED)
    if current.status == S.PENDING:
        cancelled = _record_cancel(deployment=current)
        if cancelled is not None:
            return cancelled
        current = Deployment.objects.get(pk=deployment.pk)  # a runner claimed it meanwhile
        if S.STOPPED not in TRANSITIONS.get(current.status, ()):
            raise DeploymentStateError(current, S.STOPPED)
    own_backend = backend is None
    backend = backend or backend_for_settings()
    workflow_ids = _n8n_workflow_ids(current.agent_id)
    try:
        backend.unpublish(n8n_workflow_ids=workflow_ids)
        try:
            return _record_stop(deployment=current)
        except DeploymentStateError:
            # Superseded while n8n was being called: the newer deployment needs its workflows live.
            backend.publish(agent_id=current.agent_id, version=current.version, n8n_workflow_ids=workflow_ids)
            raise
    finally:
        if own_backend and hasattr(backend, "close"):
            backend.close()


@transaction.atomic
def _record_stop(*, deployment: Deployment) -> Deployment:
    agent = Agent.objects.select_for_update().get(pk=deployment.agent_id)
    locked = Deployment.objects.select_for_update().get(pk=deployment.pk)
    _transition(locked, S.STOPPED, stopped_at=timezone.now())
    if not Deployment.objects.filter(agent_id=agent.pk, status=S.DEPLOYED).exists():
        agent_set_status(agent=agent, status=AgentStatus.INACTIVE)
    return locked


@transaction.atomic
def _record_cancel(*, deployment: Deployment) -> Deployment | None:
    """pending → stopped; None when a runner claimed it first (the caller stops it as live)."""
    locked = Deployment.objects.select_for_update().get(pk=deployment.pk)
    if locked.status != S.PENDING:
        return None
    _transition(locked, S.STOPPED, stopped_at=timezone.now())
    return locked


# Deployments whose record may be deleted: finished ones. A live, deploying or scheduled one is
# stopped first (`deployment_stop`), so n8n never keeps publishing what no row records.
DELETABLE = frozenset({S.STOPPED, S.FAILED})


class DeploymentNotDeletable(DeploymentStateError, Conflict):
    """A delete of a deployment that is not finished (409 with this message, in `/api/v1` and
    `/rest/v1` alike: both answer an `echelon.errors.Conflict` so)."""

    def __init__(self, deployment: Deployment):
        Exception.__init__(
            self, f"Deployment v{deployment.version} is {deployment.status}: stop it first "
                  f"(POST /api/v1/deployments/{deployment.pk}/stop/); only stopped or failed deployments are deleted"
        )
        self.current, self.target = deployment.status, "deleted"


@transaction.atomic
def deployment_delete(*, deployment: Deployment) -> None:
    """Delete a finished deployment's record (row locked); DeploymentNotDeletable otherwise."""
    locked = Deployment.objects.select_for_update().get(pk=deployment.pk)
    if locked.status not in DELETABLE:
        raise DeploymentNotDeletable(locked)
    locked.delete()


def deployments_fail_interrupted(*, older_than: timedelta = INTERRUPTED_AFTER) -> int:
    """Fail deployments left `deploying` by a process that died between its two transactions.

    The backend call is bounded by the client's timeouts and retries (well under a minute), so a
    deployment still deploying `older_than` after its creation will never be finished by anyone.
    Run by `manage.py sync_n8n`; returns how many were failed (each notifies its owner).
    """
    stale = Deployment.objects.filter(status=S.DEPLOYING, created_at__lt=timezone.now() - older_than)
    failed = 0
    for deployment in stale.only("pk", "agent_id"):
        try:
            deployment_finish(deployment=deployment, result=PublishResult(
                ok=False, error=f"Interrupted: still deploying after {older_than}; deploy again"))
        except DeploymentStateError:
            continue  # finished by its own process meanwhile
        failed += 1
    return failed
