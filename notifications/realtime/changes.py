"""Turn a model row into the `postgres_changes` data (schema, table, type, columns, record...).

Done once per change, in the writing process; every subscriber gets the same bytes.
Column types are PostgreSQL's names; values are JSON types (numbers as numbers, jsonb as
objects, timestamps as ISO 8601 strings, uuids as strings).
"""

from __future__ import annotations

import datetime
import uuid
from decimal import Decimal

from django.db import models
from django.db.models.expressions import Combinable

SCHEMA = "public"

# Django-only columns of `users` (not in the seed) never leave the server.
HIDDEN_COLUMNS = {"users": frozenset({"password", "last_login", "is_superuser", "is_staff", "is_active"})}

_PG_TYPES = {
    "UUIDField": "uuid",
    "CharField": "varchar",
    "EmailField": "varchar",
    "SlugField": "varchar",
    "URLField": "varchar",
    "TextField": "text",
    "JSONField": "jsonb",
    "DateTimeField": "timestamptz",
    "DateField": "date",
    "IntegerField": "int4",
    "SmallIntegerField": "int2",
    "BigIntegerField": "int8",
    "AutoField": "int4",
    "BigAutoField": "int8",
    "DecimalField": "numeric",
    "FloatField": "float8",
    "BooleanField": "bool",
}


def pg_type(field: models.Field) -> str:
    """The PostgreSQL type name of a concrete field (a foreign key has its target's type)."""
    if field.is_relation:
        return pg_type(field.target_field)
    return _PG_TYPES.get(field.get_internal_type(), "text")


def published_fields(model) -> list[models.Field]:
    hidden = HIDDEN_COLUMNS.get(model._meta.db_table, frozenset())
    return [f for f in model._meta.concrete_fields if f.column not in hidden]


def columns_of(model) -> list[dict]:
    return [{"name": f.column, "type": pg_type(f)} for f in published_fields(model)]


def column_types(model) -> dict[str, str]:
    return {f.column: pg_type(f) for f in published_fields(model)}


def json_value(value):
    """A Python value as the JSON type PostgreSQL's wal2json would give."""
    if value is None or isinstance(value, (str, bool, int, float, dict, list)):
        return value
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() and value.as_tuple().exponent >= 0 else float(value)
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    return str(value)


def has_expressions(instance) -> bool:
    """True when a field holds an unsaved expression (F() + 1 …): the row must be re-read."""
    return any(isinstance(getattr(instance, f.attname, None), Combinable) for f in published_fields(type(instance)))


def record_of(instance) -> dict:
    """The row of a saved instance as a JSON-typed dict keyed by column name."""
    return {f.column: json_value(getattr(instance, f.attname)) for f in published_fields(type(instance))}


def record_from_values(model, values: dict) -> dict:
    """The row of a `.values(*attnames)` dict as a JSON-typed dict keyed by column name."""
    return {f.column: json_value(values[f.attname]) for f in published_fields(model)}


def read_records(model, pks) -> dict:
    """pk → record for the rows `pks` (one query)."""
    fields = published_fields(model)
    pk_name = model._meta.pk.attname
    rows = model._default_manager.filter(pk__in=list(pks)).values(*[f.attname for f in fields])
    return {row[pk_name]: record_from_values(model, row) for row in rows}


def commit_timestamp(moment: datetime.datetime | None = None) -> str:
    """UTC `YYYY-MM-DDTHH:MM:SS.mmmZ`."""
    moment = (moment or datetime.datetime.now(datetime.UTC)).astimezone(datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def change_data(model, type_: str, *, record: dict | None, old_record: dict | None) -> dict:
    """The `data` object of a `postgres_changes` message (without the commit timestamp yet)."""
    data = {"schema": SCHEMA, "table": model._meta.db_table, "type": type_, "commit_timestamp": None,
            "columns": columns_of(model)}
    if type_ != "DELETE":
        data["record"] = record or {}
    if type_ != "INSERT":
        data["old_record"] = old_record or {}
    data["errors"] = None
    return data
