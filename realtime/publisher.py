"""The realtime publisher: a `row_changed` receiver that turns each captured change into the
bus message server processes fan out (realtime/dispatcher.py).

Per change, once: the row's audience from its policy (`policy_for(model).audience(row)`, shared
by rows with one `audience_key` within a batch; rows deleted in the same batch answer from their
old records, so a cascade still reaches the parent's readers), and the payload once per reader
kind that sees other columns (`changes.change_variants`). The relay logs the message with its
position and publishes it after its batch commits (realtime/relay.py).
"""

from __future__ import annotations

from django.utils.module_loading import autodiscover_modules

from echelon.policy import policy_for
from realtime.capture import published_models
from realtime.changes import change_variants, commit_timestamp
from realtime.signals import DELETE, UPDATE, CapturedChange, row_changed

_batch_audiences: dict = {"batch": None, "audiences": {}}  # audience_key → Audience within one batch


def _auth_of(change: CapturedChange) -> dict | None:
    """Out-of-band facts the dispatcher needs about a `users` row (never sent to clients)."""
    if change.table != "users":
        return None
    row = change.row
    if change.type == DELETE:
        return {"user_id": str(row.get("id")), "is_superuser": False, "is_active": False}
    return {"user_id": str(row.get("id")), "is_superuser": bool(row.get("is_superuser")),
            "is_active": bool(row.get("is_active", True))}


def _audience(change: CapturedChange):
    policy = policy_for(change.model)
    key = policy.audience_key(change.attributes())
    if key is None:
        return policy.audience(change.instance())
    if _batch_audiences["batch"] != change.batch:  # a new batch: memberships may have changed since
        _batch_audiences["batch"], _batch_audiences["audiences"] = change.batch, {}
    audiences = _batch_audiences["audiences"]
    audience = audiences.get(key)
    if audience is None:
        audience = audiences[key] = policy.audience(change.instance())
    return audience


def publish_change(sender, *, change: CapturedChange, **kwargs) -> None:
    """Set `change.push`: the change as the variants its readers get, with their audiences."""
    if change.type == UPDATE and change.record == change.old_record:
        return  # no column any reader sees changed (e.g. only workflows.webhook_secret)
    auth = _auth_of(change)
    variants = change_variants(change.model, change.type, record=change.record, old_record=change.old_record,
                               audience=_audience(change))
    if not variants and auth is None:
        return  # nobody sees what changed (e.g. a teammate's login)
    stamp = commit_timestamp(change.committed_at)
    for variant in variants:
        variant["data"]["commit_timestamp"] = stamp
        variant["data"]["position"] = change.position
    change.push = {"position": change.position, "table": change.table, "type": change.type, "variants": variants}
    if auth is not None:
        change.push["auth"] = auth


def connect() -> None:
    """Connect the publisher to every published model (called once, at startup)."""
    autodiscover_modules("policies")
    for model in published_models():
        row_changed.connect(publish_change, sender=model, dispatch_uid=f"realtime:{model._meta.label}")
