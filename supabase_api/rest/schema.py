"""What `/rest/v1` exposes, read from the registered row policies and their models.

- tables: every model with a row policy (`echelon.policy.registered_models`), by `db_table`;
- columns: the policy's column declaration (`policy.columns`): a reader selects the columns some
  reader kind it may be sees (`selectable`), filters and orders on those every such kind sees
  (`filterable`: a filter on a column one row's reader may not see would tell its value), and
  writes the `writable` ones; a `never` column is no column here at all;
- relations: the models' foreign keys between exposed tables, named as PostgreSQL names them
  in a Supabase project (`<table>_<column>_fkey`), usable in both directions.

Nothing here is a second list: add a model with a policy and it is served.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from django.db import models

from echelon.columns import OPERATOR
from echelon.policy import RowPolicy, policy_for, registered_models

JSON_TYPES = frozenset({"json", "jsonb"})
TEXT_TYPES = frozenset({"text", "character varying"})


@dataclass(frozen=True)
class Relation:
    """One foreign key `child.column → parent.id`, seen from one side."""

    constraint: str  # e.g. deployments_agent_id_fkey
    child: str  # table holding the foreign key
    column: str  # its column
    parent: str  # referenced table
    parent_column: str  # referenced column (the primary key)

    def other(self, table: str) -> str:
        return self.parent if table == self.child else self.child

    def to_one(self, table: str) -> bool:
        """Seen from `table`: one row on the other side (many-to-one), else many."""
        return table == self.child


@dataclass(frozen=True)
class Table:
    name: str
    model: type[models.Model]
    pk: str  # primary key column
    types: dict  # column → PostgreSQL type name (every published column)
    relations: tuple  # Relation, both directions
    attnames: dict  # column → its name in the base subquery (Django's attname: created_by_id)

    @property
    def policy(self) -> RowPolicy:
        return policy_for(self.model)

    @property
    def columns(self):
        return self.policy.columns

    @property
    def column_order(self) -> tuple:
        return self.columns.published

    # --- which columns a reader may use --------------------------------------------------------
    def reader_kinds(self, user) -> tuple:
        """The reader kinds `user` may be for some row (superusers: the operator only)."""
        if user is not None and user.is_superuser:
            return (OPERATOR,)
        return tuple(kind for kind in self.columns.kinds if kind != OPERATOR)

    def selectable(self, user) -> frozenset:
        kinds = self.reader_kinds(user)
        return frozenset().union(*(self.columns.visible(kind) for kind in kinds))

    def filterable(self, user) -> frozenset:
        kinds = self.reader_kinds(user)
        return frozenset.intersection(*(self.columns.visible(kind) for kind in kinds)) if kinds else frozenset()

    @property
    def kind_per_row(self) -> bool:
        """Whether the reader kind depends on the row (then columns are decided per row)."""
        return type(self.policy).reader_kind is not RowPolicy.reader_kind

    def is_json(self, column: str) -> bool:
        return self.types.get(column) in JSON_TYPES

    def is_text(self, column: str) -> bool:
        return self.types.get(column) in TEXT_TYPES


def _pg_type(field: models.Field) -> str:
    internal = field.get_internal_type()
    if isinstance(field, models.ForeignKey):
        internal = field.target_field.get_internal_type()
    return {
        "UUIDField": "uuid", "CharField": "character varying", "EmailField": "character varying",
        "SlugField": "character varying", "URLField": "character varying", "TextField": "text",
        "JSONField": "jsonb", "BooleanField": "boolean", "IntegerField": "integer",
        "BigIntegerField": "bigint", "BigAutoField": "bigint", "AutoField": "integer",
        "PositiveIntegerField": "integer", "SmallIntegerField": "smallint", "DecimalField": "numeric",
        "FloatField": "double precision", "DateTimeField": "timestamp with time zone", "DateField": "date",
    }.get(internal, "text")


@cache
def tables() -> dict[str, Table]:
    """db_table → Table for every model with a row policy."""
    exposed = {model._meta.db_table: model for model in registered_models()}
    relations: dict[str, list] = {name: [] for name in exposed}
    for name, model in exposed.items():
        for f in model._meta.concrete_fields:
            if not f.is_relation or f.related_model._meta.db_table not in exposed:
                continue
            parent = f.related_model._meta.db_table
            relation = Relation(f"{name}_{f.column}_fkey", name, f.column, parent, f.target_field.column)
            relations[name].append(relation)
            if parent != name:
                relations[parent].append(relation)
    result = {}
    for name, model in exposed.items():
        published = set(policy_for(model).columns.published)
        types = {f.column: _pg_type(f) for f in model._meta.concrete_fields if f.column in published}
        attnames = {f.column: f.attname for f in model._meta.concrete_fields if f.column in published}
        result[name] = Table(name, model, model._meta.pk.column, types, tuple(relations[name]), attnames)
    return result
