"""A workflow's link to n8n and its webhook secret.

An n8n workflow id links to at most one Echelon workflow (issue 12, point 2: a tenant linked
another tenant's n8n workflow and deployed, stopped and synced it). The database holds the rule
(the partial unique index `workflows_n8n_workflow_id_unique` on non-empty ids);
`n8n_link_check` tells the caller first, naming the conflict, and `n8n_link_guard` turns the
index's violation by a concurrent writer into the same error. Deploy, stop, sync and the
callback then only ever reach the n8n workflow linked to the workflow at hand.

Every workflow has its own HMAC secret for the signed callback (`Workflow.webhook_secret`,
generated on creation). It is shown once: in the create answer and in the answer of
`workflow_rotate_secret`; nothing serializes it otherwise.
"""

from __future__ import annotations

from contextlib import contextmanager

from django.db import IntegrityError

from echelon.errors import Conflict
from workflows.models import N8N_LINK_CONSTRAINT, Workflow, new_webhook_secret


class N8nLinkTaken(Conflict):
    """The n8n workflow id is linked to another Echelon workflow (the API answers 409)."""

    field = "n8n_workflow_id"

    def __init__(self, n8n_workflow_id: str):
        super().__init__(f"n8n workflow {n8n_workflow_id!r} is already linked to another Echelon workflow "
                         "(an n8n workflow links to one Echelon workflow only)")
        self.n8n_workflow_id = n8n_workflow_id


def n8n_link_check(n8n_workflow_id: str | None, *, workflow_pk=None) -> None:
    """Raise N8nLinkTaken when another workflow than `workflow_pk` holds `n8n_workflow_id`."""
    if not n8n_workflow_id:
        return
    others = Workflow.objects.filter(n8n_workflow_id=n8n_workflow_id)
    if workflow_pk is not None:
        others = others.exclude(pk=workflow_pk)
    if others.exists():
        raise N8nLinkTaken(n8n_workflow_id)


def _violates_link(exc: IntegrityError) -> bool:
    diag = getattr(exc.__cause__, "diag", None)
    return getattr(diag, "constraint_name", None) == N8N_LINK_CONSTRAINT


@contextmanager
def n8n_link_guard(n8n_workflow_id: str | None):
    """Around a write (outside its transaction): the unique index's violation → N8nLinkTaken."""
    try:
        yield
    except IntegrityError as exc:
        if _violates_link(exc):
            raise N8nLinkTaken(n8n_workflow_id or "") from exc
        raise


def workflow_rotate_secret(*, workflow: Workflow) -> str:
    """Give the workflow a new webhook secret and return it (the one time it is shown).

    Callbacks signed with the previous secret (or, for a row older than the per-workflow
    secrets, with the legacy global one) are refused from now on.
    """
    secret = new_webhook_secret()
    # update(): one column, no other field of a possibly stale instance written back, and no
    # save signal (nothing to push: the secret is never shown to readers).
    Workflow.objects.filter(pk=workflow.pk).update(webhook_secret=secret)
    workflow.webhook_secret = secret
    return secret
