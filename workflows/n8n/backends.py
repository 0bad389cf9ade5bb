"""Deployment backends: what "publish this agent" means with and without n8n.

`backend_for_settings()` picks the n8n backend when N8N_BASE_URL is set, otherwise the local
backend, which succeeds at once so the demo works offline. Backends only talk to the outside
world; the deployment's state is moved by `workflows.services.deployments`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from django.conf import settings

from workflows.n8n.client import N8nClient, N8nError, N8nNotFound, N8nUnavailable


@dataclass(frozen=True)
class PublishResult:
    """`unknown`: n8n did not answer (timeout, connection reset), so it may still carry the
    publish out; `note`: what the reconcile pass did, recorded on the deployment."""

    ok: bool
    deployment_url: str | None = None
    error: str | None = None
    published: tuple[str, ...] = ()
    unknown: bool = False
    note: str | None = None


def n8n_reason(exc: N8nError) -> str:
    """n8n's message with its HTTP status, or that no answer came (never "(HTTP None)")."""
    return f"{exc.message} (HTTP {exc.status})" if exc.status is not None else f"{exc.message} (no answer)"


class DeploymentBackend(Protocol):
    name: str

    def publish(self, *, agent_id, version: int, n8n_workflow_ids: list[str]) -> PublishResult: ...

    def unpublish(self, *, n8n_workflow_ids: list[str]) -> None: ...


class LocalBackend:
    """No n8n configured: every deployment succeeds immediately with a local URL."""

    name = "local"

    def publish(self, *, agent_id, version: int, n8n_workflow_ids: list[str]) -> PublishResult:
        return PublishResult(ok=True, deployment_url=f"local://agents/{agent_id}/v{version}")

    def unpublish(self, *, n8n_workflow_ids: list[str]) -> None:
        return None


class N8nBackend:
    """Publishes the agent's n8n workflows; the first failure fails the deployment with n8n's message.

    Workflows published before a failure are unpublished again, so a failed deployment leaves
    n8n as it found it (best effort: a failure while rolling back is reported, not raised).
    A call n8n did not answer makes the outcome unknown: nothing is rolled back (n8n may be
    frozen and carry the queued calls out later); the reconcile pass reads what n8n did.
    """

    name = "n8n"

    def __init__(self, client: N8nClient):
        self.client = client

    def close(self) -> None:
        self.client.close()

    def publish(self, *, agent_id, version: int, n8n_workflow_ids: list[str]) -> PublishResult:
        if not n8n_workflow_ids:
            return PublishResult(ok=False, error="The agent has no workflow linked to n8n (n8n_workflow_id)")
        done: list[str] = []
        for workflow_id in n8n_workflow_ids:
            try:
                self.client.publish_workflow(workflow_id)
            except N8nUnavailable as exc:
                return PublishResult(ok=False, unknown=True, error=(
                    f"Outcome unknown: n8n workflow {workflow_id}: {n8n_reason(exc)}; the next reconcile pass "
                    "reads whether n8n published it"))
            except N8nError as exc:
                for published in done:
                    try:
                        self.client.unpublish_workflow(published)
                    except N8nError:
                        pass
                return PublishResult(ok=False, error=f"n8n workflow {workflow_id}: {n8n_reason(exc)}")
            done.append(workflow_id)
        return PublishResult(
            ok=True, deployment_url=f"{self.client.base_url}/workflow/{n8n_workflow_ids[0]}", published=tuple(done)
        )

    def unpublish(self, *, n8n_workflow_ids: list[str]) -> None:
        for workflow_id in n8n_workflow_ids:
            try:
                self.client.unpublish_workflow(workflow_id)
            except N8nNotFound:
                continue  # deleted in n8n: nothing left to unpublish


def backend_for_settings() -> DeploymentBackend:
    if settings.N8N_BASE_URL:
        return N8nBackend(N8nClient.from_settings())
    return LocalBackend()
