"""Capture row changes on every write path and publish them after commit.

Signals cover `save()` and `delete()` (services, REST, admin, the n8n sync); bulk paths of our
own code (`queryset.update()`, `bulk_create`, raw SQL) call `publish_rows`. For each change the
payload and the row's audience (`policy_for(model).audience(row)`) are computed once (once per
reader kind where kinds see different columns: `changes.change_variants`), inside the
transaction (a bounded number of queries, whatever the number of subscribers); the message goes
to the bus from `transaction.on_commit`, so a rolled-back write publishes nothing.
"""

from __future__ import annotations

import logging

import orjson
from django.db import transaction
from django.db.models.signals import post_delete, post_save, pre_delete, pre_save
from django.utils.module_loading import autodiscover_modules

from echelon.policy import Audience, policy_for, registered_models
from realtime import bus
from realtime.changes import change_variants, commit_timestamp, has_expressions, read_records, record_of

log = logging.getLogger(__name__)

INSERT, UPDATE, DELETE = "INSERT", "UPDATE", "DELETE"
_OLD = "_realtime_old_record"
_GONE = "_realtime_deleted"


def _auth_of(model, row) -> dict | None:
    """Out-of-band facts the dispatcher needs about a `users` row (never sent to clients)."""
    if model._meta.db_table != "users" or row is None:
        return None
    return {"user_id": str(row.pk), "is_superuser": bool(row.is_superuser), "is_active": bool(row.is_active)}


def publish_change(model, type_: str, *, record: dict | None, old_record: dict | None, audience: Audience,
                   auth: dict | None = None) -> None:
    """Schedule one change for the bus when the current transaction commits: serialized once
    per reader-kind variant (`changes.change_variants`), with the audience of each."""
    variants = change_variants(model, type_, record=record, old_record=old_record, audience=audience)
    if not variants and auth is None:
        return  # nobody sees what changed (e.g. a teammate's login)
    message = {"table": model._meta.db_table, "type": type_, "variants": variants}
    if auth is not None:
        message["auth"] = auth

    def send() -> None:
        stamp = commit_timestamp()
        for variant in variants:
            variant["data"]["commit_timestamp"] = stamp
        try:
            bus.publish(orjson.dumps(message))
        except Exception:  # the write is committed; a lost push is refetched over REST
            log.exception("realtime: could not publish a %s change of %s", type_, model._meta.db_table)

    transaction.on_commit(send)


def publish_rows(model, rows, type_: str) -> None:
    """Publish `type_` for `rows` (instances or primary keys) written by a bulk path.

    INSERT/UPDATE: call after the write (the rows are re-read, one query). DELETE: call
    BEFORE the delete, so the records and audiences are those of the rows as they were.
    A bulk UPDATE's `old_record` carries the primary key only (as Supabase without
    REPLICA IDENTITY FULL).
    """
    pks = [getattr(row, "pk", row) for row in rows]
    if not pks:
        return
    policy = policy_for(model)
    pk_column = model._meta.pk.column
    shared: dict = {}  # audiences of rows that share one (e.g. thoughts of one agent)
    for row in model._default_manager.in_bulk(pks).values():  # one query for all the rows
        key = policy.audience_key(row)
        if key is None:
            audience = policy.audience(row)
        elif key in shared:
            audience = shared[key]
        else:
            audience = shared[key] = policy.audience(row)
        record = record_of(row)
        if type_ == DELETE:
            publish_change(model, DELETE, record=None, old_record=record, audience=audience)
        else:
            old = {pk_column: record[pk_column]} if type_ == UPDATE else None
            publish_change(model, type_, record=record, old_record=old, audience=audience, auth=_auth_of(model, row))


def _capture_old(sender, instance, raw=False, **kwargs) -> None:
    if raw or instance._state.adding or instance.pk is None:
        return
    setattr(instance, _OLD, read_records(sender, [instance.pk]).get(instance.pk))


def _publish_saved(sender, instance, created, raw=False, **kwargs) -> None:
    if raw:
        return
    old = instance.__dict__.pop(_OLD, None)
    if has_expressions(instance):
        record = read_records(sender, [instance.pk]).get(instance.pk)
    else:
        record = record_of(instance)
    publish_change(sender, INSERT if created else UPDATE, record=record, old_record=None if created else old,
                   audience=policy_for(sender).audience(instance), auth=_auth_of(sender, instance))


def _capture_deleted(sender, instance, **kwargs) -> None:
    # Before the row goes: who could read it, and what it was.
    setattr(instance, _GONE, (record_of(instance), policy_for(sender).audience(instance)))


def _publish_deleted(sender, instance, **kwargs) -> None:
    captured = instance.__dict__.pop(_GONE, None)
    if captured is None:
        return
    record, audience = captured
    auth = {"user_id": str(instance.pk), "is_superuser": False, "is_active": False} \
        if sender._meta.db_table == "users" else None
    publish_change(sender, DELETE, record=None, old_record=record, audience=audience, auth=auth)


def connect() -> None:
    """Connect the receivers to every model that has a row policy (called once, at startup)."""
    autodiscover_modules("policies")
    for model in registered_models():
        uid = f"realtime:{model._meta.label}"
        pre_save.connect(_capture_old, sender=model, dispatch_uid=f"{uid}:pre_save")
        post_save.connect(_publish_saved, sender=model, dispatch_uid=f"{uid}:post_save")
        pre_delete.connect(_capture_deleted, sender=model, dispatch_uid=f"{uid}:pre_delete")
        post_delete.connect(_publish_deleted, sender=model, dispatch_uid=f"{uid}:post_delete")
