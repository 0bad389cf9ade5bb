"""Turn a model row into the `postgres_changes` data (schema, table, type, columns, record...).

Done once per change and reader kind, in the writing process: the columns come from the
model's policy (`policy.columns`, echelon.columns). A `never` column is not even read into a
record; where reader kinds see different columns of one row (`users`: the user itself, its
teammates, operators) the change becomes one variant per kind, each with the audience of that
kind, and every subscriber of a kind gets the same bytes. Column types are PostgreSQL's names;
values are JSON types (numbers as numbers, jsonb as objects, timestamps as ISO 8601 strings,
uuids as strings).
"""

from __future__ import annotations

import datetime
import uuid
from decimal import Decimal

from django.db import models

from echelon.columns import OPERATOR
from echelon.policy import Audience, policy_for

SCHEMA = "public"
_published: dict = {}  # model → its fields that may leave the server (the policy's non-`never`)
_normalizers: dict = {}  # model → {column: "timestamptz" | "numeric"} of its published fields
_audience_json: dict = {}  # Audience → its bus form (at most 4,096, then started afresh)
_columns: dict = {}  # (model, visible) → the `columns` entry: built once, shared by every change

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
    """The concrete fields of `model` whose column some reader may see, in field order."""
    fields = _published.get(model)
    if fields is None:
        never = policy_for(model).columns.never
        fields = _published[model] = [f for f in model._meta.concrete_fields if f.column not in never]
    return fields


def columns_of(model, visible: frozenset | None = None) -> list[dict]:
    """The `columns` entry of a change: every published column, or those in `visible` (one list
    per model and column set, shared by the changes that carry it: it is only serialized)."""
    columns = _columns.get((model, visible))
    if columns is None:
        columns = _columns[(model, visible)] = [{"name": f.column, "type": pg_type(f)} for f in published_fields(model)
                                                if visible is None or f.column in visible]
    return columns


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


def normalized_record(model, raw: dict | None) -> dict | None:
    """A record as PostgreSQL's `to_jsonb` wrote it (capture triggers), in the form `json_value`
    gives: timestamps in UTC whatever the writer's TimeZone, whole numerics as integers."""
    if raw is None:
        return None
    kinds = _normalizers.get(model)
    if kinds is None:
        kinds = _normalizers[model] = {f.column: pg_type(f) for f in published_fields(model)
                                       if pg_type(f) in ("timestamptz", "numeric")}
    for column, kind in kinds.items():
        value = raw.get(column)
        if value is None:
            continue
        if kind == "timestamptz":
            raw[column] = _utc_iso(value)
        elif isinstance(value, float) and value.is_integer():
            raw[column] = int(value)
    return raw




def record_of(instance) -> dict:
    """The row of a saved instance as a JSON-typed dict keyed by column name."""
    return {f.column: json_value(getattr(instance, f.attname)) for f in published_fields(type(instance))}






def commit_timestamp(moment: datetime.datetime | None = None) -> str:
    """UTC `YYYY-MM-DDTHH:MM:SS.mmmZ`."""
    moment = (moment or datetime.datetime.now(datetime.UTC)).astimezone(datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def change_data(model, type_: str, *, record: dict | None, old_record: dict | None,
                visible: frozenset | None = None) -> dict:
    """The `data` object of a `postgres_changes` message (without the commit timestamp yet),
    restricted to the columns in `visible` when given."""
    data = {"schema": SCHEMA, "table": model._meta.db_table, "type": type_, "commit_timestamp": None,
            "columns": columns_of(model, visible)}
    if type_ != "DELETE":
        data["record"] = _only(record, visible)
    if type_ != "INSERT":
        data["old_record"] = _only(old_record, visible)
    data["errors"] = None
    return data


def _only(record: dict | None, visible: frozenset | None) -> dict:
    if not record:
        return {}
    return dict(record) if visible is None else {k: v for k, v in record.items() if k in visible}


def audience_json(audience: Audience) -> dict:
    """An audience as the bus carries it (memoized: a bulk statement's rows share one audience,
    and its sorted id lists were most of the relay's time per row)."""
    encoded = _audience_json.get(audience)
    if encoded is None:
        if len(_audience_json) >= 4096:
            _audience_json.clear()
        encoded = _audience_json[audience] = {
            "users": sorted(str(u) for u in audience.user_ids),
            "teams": sorted(str(t) for t in audience.team_ids),
            "everyone": audience.everyone,
        }
    return encoded


def _unseen_update(visible: frozenset, record: dict | None, old_record: dict | None) -> bool:
    """True when an UPDATE changed columns, none of which `visible` holds (a change a reader
    kind cannot see is none for it: a teammate is not told of each login). Unknowable, hence
    False, when the old record is partial (a bulk UPDATE's carries the primary key only)."""
    if not record or not old_record or any(c not in old_record for c in visible):
        return False
    changed = {c for c, v in record.items() if c not in old_record or old_record[c] != v}
    return bool(changed) and not (changed & visible)


def change_variants(model, type_: str, *, record: dict | None, old_record: dict | None,
                    audience: Audience) -> list[dict]:
    """One change as the variants its readers get: `[{"audience", "operator", "data"}, ...]`,
    most specific first (a subscriber gets the first variant that admits it; `operator`: only
    superusers). Reader kinds that see the same columns share one variant; a model whose kinds
    all see the same columns (every table but `users`) gives exactly one."""
    policy = policy_for(model)
    declared = policy.columns
    split = policy.audiences_by_kind(audience, record or old_record or {})
    operator_columns = declared.visible(OPERATOR)
    groups: list[list] = []  # [visible, audience, operator]
    if any(declared.visible(kind) != operator_columns for kind, _ in split):
        groups.append([operator_columns, Audience(), True])
    for kind, kind_audience in split:
        visible = declared.visible(kind)
        same = next((g for g in groups if g[0] == visible and not g[2]), None)
        if same is None:
            groups.append([visible, kind_audience, False])
        else:
            same[1] = same[1] | kind_audience
    variants = []
    for visible, group_audience, operator in groups:
        if type_ == "UPDATE" and _unseen_update(visible, record, old_record):
            continue
        variants.append({
            "audience": audience_json(group_audience), "operator": operator,
            "data": change_data(model, type_, record=record, old_record=old_record, visible=visible),
        })
    return variants


def _utc_iso(value: str) -> str:
    """A `to_jsonb` timestamp as `datetime.isoformat()` of it in UTC. A UTC value (the writer's
    session in UTC: Django's) only has its fraction padded to microseconds, no parsing: bulk
    statements bring one per row."""
    if value.endswith("+00:00") and len(value) >= 25 and value[10] == "T":
        dot = value.find(".", 19, -6)
        if dot == -1:
            return value
        fraction = value[dot + 1:-6]
        if len(fraction) <= 6 and fraction.isdigit():
            return value[:dot + 1] + fraction.ljust(6, "0") + "+00:00"
    return datetime.datetime.fromisoformat(value).astimezone(datetime.UTC).isoformat()
