"""Reads of agents for a user, shaped for the hot API paths (plain rows, no serializer).

Rows are dicts ready for `echelon.api.responses.dumps` (orjson): jsonb columns arrive as the
text PostgreSQL already encoded and are embedded as `orjson.Fragment`s, so they are neither
decoded nor re-encoded in Python.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import orjson
import psycopg
from psycopg.types.string import TextLoader
from django.core.exceptions import ImproperlyConfigured
from django.db import connections
from django.utils.functional import cached_property
from django.db.models import JSONField, QuerySet, Subquery, TextField
from django.db.models.functions import Cast

from agents.models import Agent
from echelon.api.pagination import CountOf
from echelon.columns import OPERATOR, READER
from echelon.policy import policy_for


def agent_columns(user) -> tuple[tuple[str, str, bool], ...]:
    """(API name, ORM attname, is jsonb) of every agent column `user` may read, in the model's
    field order (as the serializers order them): asked of the agent policy's column declaration,
    the one list of them, so a column it hides from a reader never reaches these rows."""
    return _columns_shown_to(policy_for(Agent).reader_kind(user, None))


@cache  # per reader kind: the declaration does not change while the process runs
def _columns_shown_to(kind: str) -> tuple[tuple[str, str, bool], ...]:
    columns = policy_for(Agent).columns
    if set(columns.kinds) - {READER, OPERATOR}:
        # the rows of one answer are shaped once, for their reader, not row by row
        raise ImproperlyConfigured("AgentRows needs the agent policy to tell readers apart by user only "
                                   f"(its reader kinds are {columns.kinds})")
    visible = columns.visible(kind)
    return tuple((field.name, field.attname, isinstance(field, JSONField))
                 for field in Agent._meta.concrete_fields if field.column in visible)


_C_TIMESTAMPTZ_LOADER = psycopg.adapters.get_loader(psycopg.postgres.types["timestamptz"].oid, psycopg.pq.Format.TEXT)


class AgentRows:
    """An agent queryset turned into API rows: `.queryset` yields tuples (lazy, sliceable, so
    a paginator can count and slice it); `.dicts(tuples)` names them and embeds the JSON.

    The rows are for `user`: the columns it may read (`agent_columns`). `source` is a queryset,
    or a function returning one: then it is only built if `.queryset` is used (a memoized-SQL hit
    never needs it). So may each of `json_subqueries` be.
    """

    def __init__(self, source, *, user, with_total: bool = False,
                 **json_subqueries: Subquery | Callable[[], Subquery]):
        self._source, self._with_total, self._json_subqueries = source, with_total, json_subqueries
        self._columns = agent_columns(user)
        json_flags = [is_json for _, _, is_json in self._columns] + [True] * len(json_subqueries)
        self.names = [name for name, _, _ in self._columns] + list(json_subqueries)
        self.json_at = [i for i, is_json in enumerate(json_flags) if is_json]

    @cached_property
    def queryset(self) -> QuerySet:
        queryset = self._source() if callable(self._source) else self._source
        columns = [(name, Cast(column, TextField()) if is_json else column)
                   for name, column, is_json in self._columns]
        columns += [(name, Subquery((sub() if callable(sub) else sub).query, output_field=TextField()))
                    for name, sub in self._json_subqueries.items()]
        if self._with_total:  # last column: the number of rows of the whole (unsliced) queryset
            columns.append(("_total", CountOf(queryset.order_by().values("pk"))))
        aliases = {f"_{name}": expr for name, expr in columns if not isinstance(expr, str)}
        fields = [expr if isinstance(expr, str) else f"_{name}" for name, expr in columns]
        return queryset.annotate(**aliases).values_list(*fields)

    def dicts(self, tuples) -> list[dict]:
        names, fragment, rows = self.names, orjson.Fragment, []
        json_names = [names[i] for i in self.json_at]
        for values in tuples:
            row = dict(zip(names, values))  # zip stops before a trailing _total
            for name in json_names:  # inlined: per row and column, a function call was measurable
                text = row[name]
                if text is not None:
                    row[name] = fragment(text)
            rows.append(row)
        return rows

    def all(self) -> list[dict]:
        """Every row (see `fetch_rows`)."""
        sql, params = self.queryset.query.get_compiler(using=self.queryset.db).as_sql()
        return self.dicts(fetch_rows(sql, params, using=self.queryset.db))


def fetch_rows(sql: str, params, *, using: str = "default") -> list[tuple]:
    """Run compiled SQL and read the rows through psycopg's C timestamp loader, uuids as text.

    Django's own timestamptz loader is a Python subclass (it pins the tzinfo); for the
    1,000-row dashboard it was a third of the time. The connection runs in UTC
    (`TIME_ZONE`/`USE_TZ`), so psycopg's loader gives the same aware datetimes.
    The rows are for JSON, where a uuid is its text: PostgreSQL's (lowercase, hyphenated) is
    what `str(uuid.UUID)` gives, without making 3,000 `uuid.UUID` objects for the dashboard
    (1.7 of its 4.6 ms of Python, docs/benchmarks.md, 2026-12-07).
    """
    with connections[using].cursor() as cursor:
        cursor.cursor.adapters.register_loader("timestamptz", _C_TIMESTAMPTZ_LOADER)
        cursor.cursor.adapters.register_loader("uuid", TextLoader)
        cursor.execute(sql, params)
        return cursor.fetchall()
