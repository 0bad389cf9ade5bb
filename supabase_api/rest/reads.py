"""Run a read: one statement, the JSON body from PostgreSQL, the columns of each row's reader.

Tables whose reader kind is the same for every row the user reads (all but `users`) have their
columns chosen in SQL, and the body PostgreSQL built goes out as it is. For a table whose kind
depends on the row (`users`: self or teammate) each row carries its record; the policy's
`reader_kind(user, record)` decides here which of the selected columns that row shows, as the
DRF serializers decide per row.
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson
from django.conf import settings
from django.db import DatabaseError, connection, transaction

from echelon.db.sqlmemo import compile_for_user
from echelon.policy import is_signed_in
from supabase_api.rest.errors import RestError
from supabase_api.rest.plan import ROW_KEY, Embed, Node
from supabase_api.rest.resources import base_queryset, compiled, memoizable, readable
from supabase_api.rest.schema import Table
from supabase_api.rest.sql import read_statement

# SQLSTATE classes that are the request's fault (bad values, impossible casts, limits).
CLIENT_SQLSTATES = ("22", "23", "42883", "42804", "42846", "2202E", "54")


def max_rows() -> int:
    """Rows a read returns at most (Supabase's `max_rows`, default 1,000)."""
    return int(getattr(settings, "SUPABASE_REST_MAX_ROWS", 1000))


class Bases:
    """`base(table)`: the SQL of the rows a reader may see, compiled once per table and request.

    A plain read's base is compiled once per (table, superuser?) for every signed-in user and
    only the user id swapped in (`echelon.db.sqlmemo`, as the `/api/v1` agent list does: Django's
    compilation cost more than PostgreSQL's execution), where the viewset adds nothing to the
    policy's queryset (`memoizable`); tests/supabase/test_rest_memo.py compares every table's
    memoized SQL with a fresh compilation for every kind of actor."""

    def __init__(self, request, restrict=None):
        self.request, self.restrict, self._cache = request, restrict, {}

    def __call__(self, table: Table) -> tuple[str, list]:
        found = self._cache.get(table.name)
        if found is None:
            found = self._cache[table.name] = self._compile(table)
        return found

    def _compile(self, table: Table) -> tuple[str, list]:
        user = self.request.user

        def build():
            queryset = readable(table, self.request)
            if self.restrict is not None:
                queryset = self.restrict(table, queryset)
            return base_queryset(queryset, table)

        if self.restrict is None and is_signed_in(user) and memoizable(table):
            return compile_for_user(("rest.base", table.name, bool(user.is_superuser)), user, build)
        return compiled(build(), table)


def database_error(exc: DatabaseError) -> RestError | None:
    """A PostgreSQL error caused by the request's values, in PostgREST's shape (else None)."""
    cause = exc.__cause__
    sqlstate = getattr(cause, "sqlstate", None) or ""
    if not sqlstate.startswith(CLIENT_SQLSTATES):
        return None
    diag = getattr(cause, "diag", None)
    message = getattr(diag, "message_primary", None) or str(cause).splitlines()[0]
    return RestError(sqlstate, message, details=getattr(diag, "message_detail", None),
                     hint=getattr(diag, "message_hint", None))


def execute(sql: str, params: list) -> tuple:
    """One statement; inside a transaction (a write's answer) within a savepoint, so a value
    PostgreSQL refuses leaves the transaction usable for the error answer."""
    try:
        if connection.in_atomic_block:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(sql, params)
                return cursor.fetchone()
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone()
    except DatabaseError as exc:
        error = database_error(exc)
        if error is None:
            raise
        raise error from None


@dataclass
class Result:
    body: bytes  # a JSON array
    rows: int
    total: int | None


def read(node: Node, bases: Bases, user, *, limit=None, offset=None, count=False) -> Result:
    cap = max_rows()
    limit = cap if limit is None else min(limit, cap)
    sql, params = read_statement(node, bases, limit=limit, offset=offset, count=count)
    row = execute(sql, params)
    body, rows = row[0], row[1]
    total = row[2] if count else None
    if node.any_per_row():
        body = orjson.dumps(shape(orjson.loads(body), node, user))
    else:
        body = body.encode()
    return Result(body, rows, total)


def shape(value, node: Node, user):
    """Drop the columns a per-row reader kind does not see; recurse into embeds."""
    if value is None:
        return None
    if isinstance(value, list):
        return [shape(v, node, user) for v in value]
    if node.per_row:
        record = value.pop(ROW_KEY, None) or {}
        visible = node.table.policy.visible_columns(user, record)
        for output in node.outputs:
            if output.column is not None and output.column not in visible:
                value.pop(output.key, None)
    for output in node.outputs:
        if isinstance(output.item, Embed) and output.key in value:
            value[output.key] = shape(value[output.key], output.item.node, user)
    return value
