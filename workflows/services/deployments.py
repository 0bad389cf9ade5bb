"""The deployment state machine: pending → deploying → deployed | failed | unknown;
deployed → stopping → stopped; pending → stopped (a scheduled deployment cancelled before its time).

`unknown` is a publish or unpublish n8n did not answer (timeout, connection reset): n8n may still
carry it out, so it is never recorded as failed; the reconcile pass (`reconcile`) reads what n8n
did and resolves it to deployed, failed or stopped. A `deploying` whose worker died mid-call is
resolved the same way once it is older than any n8n call can take (`STALE_AFTER`).

The API does not wait for n8n (issue 18): `deployment_request` / `deployment_stop_request` move
the deployment to its in-between state and queue the n8n call for a worker (workflows/tasks.py)
in the same transaction; `deployment_publish_queued` / `deployment_unpublish_queued` are what the
worker runs. `agent_deploy` / `deployment_stop` do the same inline (admin, scripts, tests).

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
from django.db.models import Max, QuerySet
from django.utils import timezone

from agents.models import Agent, AgentStatus
from agents.services import agent_set_status
from echelon.errors import Conflict
from notifications.services import notify_deployment_outcome
from procrastinate.contrib.django import app as task_queue
from workflows.models import Deployment, DeploymentStatus, TriggerType, Workflow, WorkflowStatus
from workflows.n8n.backends import DeploymentBackend, PublishResult, backend_for_settings, n8n_reason
from workflows.n8n.client import N8nError, N8nUnavailable
from workflows.services.scheduling import due_deployments, scheduled_config

log = logging.getLogger(__name__)

S = DeploymentStatus
# Longer than one n8n call can take (client timeout 10 s, 3 retries with backoff), so a
# deployment still `deploying` after it has no worker on it any more.
STALE_AFTER = timedelta(minutes=2)
TRANSITIONS: dict[str, frozenset[str]] = {
    S.PENDING: frozenset({S.DEPLOYING, S.STOPPED}),
    S.DEPLOYING: frozenset({S.DEPLOYED, S.FAILED, S.UNKNOWN}),
    S.UNKNOWN: frozenset({S.DEPLOYED, S.FAILED, S.STOPPING, S.STOPPED}),
    S.DEPLOYED: frozenset({S.STOPPING, S.STOPPED}),
    S.STOPPING: frozenset({S.STOPPED, S.DEPLOYED}),
    S.FAILED: frozenset(),
    S.STOPPED: frozenset(),
}
# Deployments that hold (or may hold) the agent's workflows in n8n; a newer live one replaces them.
SUPERSEDED = (S.DEPLOYED, S.STOPPING, S.UNKNOWN)


class DeploymentStateError(Conflict):
    """An illegal transition (the API answers 409 with this message and the current status)."""

    def __init__(self, deployment: Deployment, target: str):
        allowed = ", ".join(sorted(TRANSITIONS.get(deployment.status, ()))) or "none (final state)"
        super().__init__(
            f"Deployment v{deployment.version} is {deployment.status}; it cannot become {target} "
            f"(allowed from {deployment.status}: {allowed})",
            field="status", current=deployment.status,
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
    return _publish(locked, backend)


def _publish(locked: Deployment, backend: DeploymentBackend | None) -> Deployment:
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
    """deploying | unknown → deployed (stopping the previous live one, agent → active), → failed,
    or (n8n did not answer) → unknown.

    The owner's `deployment_success` / `deployment_failed` notification is created here, in the
    same transaction; an unknown outcome notifies nobody yet (the reconcile pass will).
    """
    agent = Agent.objects.select_for_update().get(pk=deployment.agent_id)
    locked = Deployment.objects.select_for_update().get(pk=deployment.pk)
    now = timezone.now()
    if result.ok:
        for previous in Deployment.objects.select_for_update().filter(
            agent_id=agent.pk, status__in=SUPERSEDED
        ).exclude(pk=locked.pk):
            _transition(previous, S.STOPPED, stopped_at=now)
        _transition(locked, S.DEPLOYED, deployed_at=now, deployment_url=result.deployment_url, error_message=None,
                    **({"reconcile_note": result.note} if result.note else {}))
        agent_set_status(agent=agent, status=AgentStatus.ACTIVE)
        _set_workflow_status(agent.pk, live=True)
    elif result.unknown and locked.status == S.DEPLOYING:
        _transition(locked, S.UNKNOWN, error_message=result.error)
        return locked
    else:
        _transition(locked, S.FAILED, error_message=result.error or "Deployment failed",
                    **({"reconcile_note": result.note} if result.note else {}))
    notify_deployment_outcome(deployment=locked, agent=agent)
    return locked


def workflows_follow_n8n(workflows: QuerySet, *, live: bool) -> int:
    """Set `status` of `workflows` to active (live) or inactive (not live; error/paused kept)."""
    if live:
        rows = workflows.exclude(status=WorkflowStatus.ACTIVE)
        target = WorkflowStatus.ACTIVE
    else:
        rows = workflows.filter(status=WorkflowStatus.ACTIVE)
        target = WorkflowStatus.INACTIVE
    pks = list(rows.values_list("pk", flat=True))
    if pks:
        Workflow.objects.filter(pk__in=pks).update(status=target)
    return len(pks)


def _set_workflow_status(agent_id, *, live: bool) -> None:
    """The agent's linked workflows follow what n8n was told (the reconcile pass corrects drift)."""
    workflows_follow_n8n(Workflow.objects.filter(agent_id=agent_id).exclude(n8n_workflow_id__isnull=True)
                         .exclude(n8n_workflow_id=""), live=live)


def _defer(task_name: str, **kwargs) -> None:
    """Queue a job of workflows/tasks.py by name, in the caller's transaction: the tasks module
    calls these services, so the services do not import it (no cycle); allow_unknown=False makes a
    renamed task fail loudly instead of queueing a job no worker runs."""
    task_queue.configure_task(task_name, allow_unknown=False).defer(**kwargs)


def agent_deploy(*, agent: Agent, actor=None, trigger_type: str = TriggerType.MANUAL,
                 trigger_config: dict | None = None, backend: DeploymentBackend | None = None) -> Deployment:
    """Create the next deployment of `agent` and run it to deployed or failed (a scheduled one
    stays pending until `deployments_run_due` runs it)."""
    deployment = deployment_create(agent=agent, trigger_type=trigger_type, trigger_config=trigger_config, actor=actor)
    if trigger_type == TriggerType.SCHEDULED:
        return deployment
    return deployment_run(deployment=deployment, backend=backend)


@transaction.atomic
def deployment_request(*, agent: Agent, actor=None, trigger_type: str = TriggerType.MANUAL,
                       trigger_config: dict | None = None) -> Deployment:
    """What the API calls: the new deployment, `deploying` with its publish queued for a worker
    (the job is written in the same transaction), or `pending` when scheduled for later."""
    deployment = deployment_create(agent=agent, trigger_type=trigger_type, trigger_config=trigger_config, actor=actor)
    if trigger_type == TriggerType.SCHEDULED:
        return deployment
    return deployment_queue(deployment=deployment)


@transaction.atomic
def deployment_queue(*, deployment: Deployment) -> Deployment:
    """pending → deploying with its publish queued for a worker, in the caller's transaction
    (REST create, a config change with auto_redeploy, the deploy action)."""
    locked = Deployment.objects.select_for_update().get(pk=deployment.pk)
    _transition(locked, S.DEPLOYING)
    _defer("workflows.publish_deployment", deployment_id=str(locked.pk))
    return locked


def deployment_publish_queued(*, deployment_id, backend: DeploymentBackend | None = None) -> Deployment | None:
    """The worker's half of `deployment_request`: publish and record the outcome. A deployment
    no longer `deploying` (resolved by the reconcile pass, a duplicate job) is left alone."""
    deployment = Deployment.objects.filter(pk=deployment_id).first()
    if deployment is None or deployment.status != S.DEPLOYING:
        return deployment
    return _publish(deployment, backend)


def deployment_stop_request(*, deployment: Deployment, actor=None) -> Deployment:
    """What the API calls: a pending deployment is cancelled at once; a live one (or one whose
    publish outcome is unknown) becomes `stopping` with its unpublish queued for a worker."""
    with transaction.atomic():
        locked = Deployment.objects.select_for_update().get(pk=deployment.pk)
        if locked.status == S.PENDING:
            _transition(locked, S.STOPPED, stopped_at=timezone.now())
            return locked
        _transition(locked, S.STOPPING)
        _defer("workflows.unpublish_deployment", deployment_id=str(locked.pk))
        return locked


def deployment_unpublish_queued(*, deployment_id, backend: DeploymentBackend | None = None) -> Deployment | None:
    """The worker's half of `deployment_stop_request`: unpublish, then stopped. n8n refusing
    (a 4xx) puts it back to deployed with n8n's message; no answer leaves it `stopping` for the
    reconcile pass. A deployment superseded meanwhile (already stopped) is not touched: its
    workflows belong to the newer deployment now."""
    deployment = Deployment.objects.filter(pk=deployment_id).first()
    if deployment is None or deployment.status != S.STOPPING:
        return deployment
    own_backend = backend is None
    backend = backend or backend_for_settings()
    try:
        backend.unpublish(n8n_workflow_ids=_n8n_workflow_ids(deployment.agent_id))
    except N8nUnavailable as exc:
        return _record_stop_note(deployment, f"n8n did not answer the unpublish ({exc.message}); "
                                             "the next reconcile pass finishes the stop")
    except N8nError as exc:
        return _record_stop_refused(deployment, exc)
    finally:
        if own_backend and hasattr(backend, "close"):
            backend.close()
    try:
        return _record_stop(deployment=deployment)
    except DeploymentStateError:
        return Deployment.objects.get(pk=deployment.pk)


@transaction.atomic
def _record_stop_note(deployment: Deployment, note: str) -> Deployment:
    Deployment.objects.filter(pk=deployment.pk, status=S.STOPPING).update(reconcile_note=note)
    return Deployment.objects.get(pk=deployment.pk)


@transaction.atomic
def _record_stop_refused(deployment: Deployment, exc: N8nError) -> Deployment:
    locked = Deployment.objects.select_for_update().get(pk=deployment.pk)
    if locked.status == S.STOPPING:
        _transition(locked, S.DEPLOYED, error_message=f"n8n refused to unpublish: {n8n_reason(exc)}")
    return locked


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
    if not Deployment.objects.filter(agent_id=agent.pk, status__in=SUPERSEDED).exists():
        agent_set_status(agent=agent, status=AgentStatus.INACTIVE)
        _set_workflow_status(agent.pk, live=False)
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


class DeploymentNotDeletable(DeploymentStateError):
    """A delete of a deployment that is not finished (409 with this message, in `/api/v1` and
    `/rest/v1` alike: both answer an `echelon.errors.Conflict` so)."""

    def __init__(self, deployment: Deployment):
        Conflict.__init__(
            self, f"Deployment v{deployment.version} is {deployment.status}: stop it first "
                  f"(POST /api/v1/deployments/{deployment.pk}/stop/); only stopped or failed deployments are deleted",
            field="status", current=deployment.status,
        )
        self.current, self.target = deployment.status, "deleted"


@transaction.atomic
def deployment_delete(*, deployment: Deployment) -> None:
    """Delete a finished deployment's record (row locked); DeploymentNotDeletable otherwise."""
    locked = Deployment.objects.select_for_update().get(pk=deployment.pk)
    if locked.status not in DELETABLE:
        raise DeploymentNotDeletable(locked)
    locked.delete()

