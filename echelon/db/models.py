"""Model bases that give every table the seed's database defaults and a current `updated_at`.

The seed declares defaults in SQL (`gen_random_uuid()`, `now()`, ...). Fields here carry both a
Python default (so unsaved instances have values) and a `db_default` (so rows inserted by plain
SQL, e.g. from n8n's Postgres node, get the same values).
"""

from __future__ import annotations

import uuid

from django.contrib.postgres.functions import RandomUUID
from django.db import models
from django.db.models.functions import Cast
from django.utils import timezone


class DbNow(models.Func):
    """PostgreSQL's `now()` (transaction time), the seed's `DEFAULT NOW()`."""

    template = "now()"
    output_field = models.DateTimeField()


class IsoUtc(models.Func):
    """A timestamptz as the API's text form (ISO 8601, UTC, `Z`, microseconds unless they are 0:
    what echelon.dates.iso_utc and DRF write), for JSON that PostgreSQL builds itself
    (`JsonText`): its own rendering ends in `+00:00`."""

    template = """replace(to_char(%(expressions)s AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), '.000000Z', 'Z')"""
    output_field = models.TextField()


class JsonText(models.Func):
    """A JSON object built by PostgreSQL as text, `json_build_object(key, value, ...)`, keys in
    the order given; values are expressions or field names.

    Django's `JSONObject` builds `JSON_OBJECT(... RETURNING JSONB)`: a binary value that is then
    rendered back to text. For the dashboard's 2,000 objects that was 0.9 of PostgreSQL's 6.2 ms
    (docs/benchmarks.md, 2026-12-07)."""

    # as text: psycopg would parse a `json` column into Python objects (`jsonb` Django reads as text)
    template = "json_build_object(%(expressions)s)::text"
    output_field = models.TextField()

    def __init__(self, **fields):
        pairs = []
        for key, value in fields.items():
            pairs += [Cast(models.Value(key), models.TextField()),
                      value if hasattr(value, "resolve_expression") else models.F(value)]
        super().__init__(*pairs)


def uuid_pk() -> models.UUIDField:
    return models.UUIDField(primary_key=True, default=uuid.uuid4, db_default=RandomUUID(), editable=False)


def created_at(**kwargs) -> models.DateTimeField:
    """A seed `TIMESTAMPTZ DEFAULT NOW()` column (nullable, as in the seed)."""
    kwargs.setdefault("editable", False)
    return models.DateTimeField(default=timezone.now, db_default=DbNow(), null=True, **kwargs)


def json_object(**kwargs) -> models.JSONField:
    """A seed `JSONB DEFAULT '{}'` column."""
    kwargs.setdefault("null", True)
    kwargs.setdefault("blank", True)
    return models.JSONField(default=dict, db_default=models.Value({}, models.JSONField()), **kwargs)


def choice_check(table: str, column: str, choices: type[models.TextChoices]) -> models.CheckConstraint:
    """CHECK constraint so PostgreSQL itself rejects values outside a Django choice list."""
    return models.CheckConstraint(
        condition=models.Q(**{f"{column}__in": choices.values}), name=f"{table}_{column}_valid"
    )


class TouchingQuerySet(models.QuerySet):
    """`update()` also sets `updated_at`, so bulk updates keep it current like `save()` does."""

    def update(self, **kwargs):
        kwargs.setdefault("updated_at", timezone.now())
        return super().update(**kwargs)

    def bulk_update(self, objs, fields, batch_size=None):
        now = timezone.now()
        for obj in objs:
            obj.updated_at = now
        fields = list(fields)
        if "updated_at" not in fields:
            fields.append("updated_at")
        return super().bulk_update(objs, fields, batch_size=batch_size)


class UpdatedAtModel(models.Model):
    """A model with the seed's `updated_at`, kept current on every save and bulk update.

    A database trigger (see `echelon.db.operations.UpdatedAtTrigger`) also sets it for UPDATEs
    made outside Django that leave the column untouched.
    """

    created_at = created_at()
    updated_at = models.DateTimeField(default=timezone.now, db_default=DbNow(), null=True, editable=False)

    objects = TouchingQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            self.updated_at = timezone.now()
            update_fields = kwargs.get("update_fields")
            if update_fields is not None and "updated_at" not in update_fields:
                kwargs["update_fields"] = [*update_fields, "updated_at"]
        super().save(*args, **kwargs)
