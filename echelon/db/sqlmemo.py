"""Compile a policy-restricted query once per shape, then only swap the user id.

Building and compiling the agent page query costs more Python time than PostgreSQL takes to
run it (about 1.2 ms of ORM work per request, measured in bench/bench_api.py). For the
hottest list request (no filters, search or ordering) the SQL depends on the user only
through the user id as a parameter, and on `is_superuser` (the policy's bypass); both are in
the memo key or substituted. `tests/api/test_sql_memo.py` checks the memoized SQL against a
fresh compilation for every kind of actor, so a policy whose SQL shape starts depending on
something else fails there.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import QuerySet

from realtime.table_versions import MISSING, VersionedCache

_MEMO: dict[Hashable, tuple[str, tuple[tuple[int, ...], ...], tuple]] = {}
# key → (compiled as in _MEMO, db alias, model, field attnames, converters)
_INSTANCES: dict[Hashable, tuple] = {}
MAX_ENTRIES = 512
# (key, is_superuser) → the totals of a paged query, per user (`page_and_total`)
_TOTALS: dict[Hashable, VersionedCache] = {}
TOTALS_KEPT = 10_000  # users per query shape
# Django quotes every table it names: after FROM or JOIN, in the query and its subqueries.
_TABLE = re.compile(r'\b(?:FROM|JOIN)\s+"([^"]+)"')


def _positions(params, values) -> tuple[tuple[int, ...], ...] | None:
    """For each value, the params equal to it; None when two values are equal (ambiguous)."""
    if len(set(values)) < len(values):
        return None
    return tuple(tuple(i for i, param in enumerate(params) if param == value) for value in values)


def _substituted(entry, values) -> tuple[str, list]:
    sql, positions, params = entry
    params = list(params)
    for value, at in zip(values, positions):
        for i in at:
            params[i] = value
    return sql, params


def compile_with(key: Hashable, values: tuple, build: Callable[[], QuerySet]) -> tuple[str, list]:
    """SQL and params of `build()`, compiled once per key: later calls swap `values` in (the
    params that equalled `values[i]` when it was compiled get the new `values[i]`). The key must
    name everything else the SQL depends on."""
    entry = _MEMO.get(key)
    if entry is None:
        queryset = build()
        sql, params = queryset.query.get_compiler(using=queryset.db).as_sql()
        positions = _positions(params, values)
        if positions is not None and len(_MEMO) < MAX_ENTRIES:
            _MEMO[key] = (sql, positions, tuple(params))
        return sql, list(params)
    return _substituted(entry, values)


def compile_for_user(key: Hashable, user, build: Callable[[], QuerySet]) -> tuple[str, list]:
    """SQL and params of `build()` (a queryset restricted for `user`), compiled once per key."""
    return compile_with(key, (user.pk,), build)


def count_with(key: Hashable, values: tuple, build: Callable[[], QuerySet], *, using: str = "default") -> int:
    """How many rows `build()` has (`SELECT COUNT(*)` over its SQL), compiled as `compile_with` does."""
    sql, params = compile_with(key, values, lambda: build().order_by().values("pk"))
    with connections[using].cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM ({sql}) AS counted", params)
        return cursor.fetchone()[0]


def tables_read(sql: str) -> tuple[str, ...]:
    """The tables compiled SQL reads (Django's quoting: `FROM "t"`, `JOIN "t"`), sorted."""
    return tuple(sorted(set(_TABLE.findall(sql))))


def page_and_total(key: Hashable, user, offset: int, limit: int, *, counted: Callable[[], QuerySet],
                   plain: Callable[[], QuerySet], fetch: Callable[[str, list], list]) -> tuple[list, int | None]:
    """Rows `offset`..`offset + limit` of a query restricted for `user`, and the query's total.

    `counted()` yields the rows with the total as their last column (one query: see
    `echelon.api.pagination.CountOf`), `plain()` the same rows without it; `fetch(sql, params)`
    runs SQL. Both are compiled once per shape (`compile_for_user`). The total is kept per user
    while none of the tables the query reads has changed (`realtime.table_versions`), and then
    only the page is asked for: counting a user's rows costs PostgreSQL more than reading a page
    of them (bench/bench_serving.py). The total is None when it is not known: an empty page past
    the first, with nothing kept.
    """
    superuser = bool(user.is_superuser)
    counted_sql, counted_params = compile_for_user((key, "counted", superuser, offset, limit), user,
                                                   lambda: counted()[offset:offset + limit])
    totals = _TOTALS.get((key, superuser))
    if totals is None:
        totals = _TOTALS.setdefault((key, superuser), VersionedCache(tables_read(counted_sql), max_entries=TOTALS_KEPT))
    snapshot, total = totals.kept(user.pk)
    if total is MISSING:
        rows = fetch(counted_sql, counted_params)
        if not rows and offset > 0:
            return rows, None
        total = rows[0][-1] if rows else 0
        totals.keep(user.pk, snapshot, total)
        return rows, total
    if offset >= total:
        return [], total
    sql, params = compile_for_user((key, "plain", superuser, offset, limit), user, lambda: plain()[offset:offset + limit])
    return fetch(sql, params), total


def instances_by(key: Hashable, values: tuple, build: Callable[[], QuerySet], *, rows_cache=None) -> list:
    """The model instances of `build()`, a queryset of one model's rows (e.g. a user by id),
    its SQL compiled once per key as `compile_with` does: later calls only swap `values` in.

    Rows become instances as Django's ModelIterable makes them (the fields' converters, then
    `Model.from_db`). A queryset with related or annotated columns is not memoized (run as is).
    With `rows_cache` (a `realtime.table_versions.VersionedCache` of the tables the query reads)
    the fetched rows are kept while those tables do not change; every call still gets instances
    of its own, so a caller that changes one changes nothing kept.
    """
    entry = _INSTANCES.get(key)
    if entry is None:
        queryset = build()
        compiler = queryset.query.get_compiler(using=queryset.db)
        sql, params = compiler.as_sql()
        info = compiler.klass_info
        positions = _positions(params, values)
        if (positions is None or info is None or info.get("related_klass_infos") or compiler.annotation_col_map
                or len(_INSTANCES) >= MAX_ENTRIES):
            return list(queryset)
        columns = [column for column, _, _ in compiler.select]
        entry = _INSTANCES[key] = ((sql, positions, tuple(params)), queryset.db, info["model"],
                                   [column.target.attname for column in columns],
                                   list(compiler.get_converters(columns).items()))
    compiled, using, model, names, converters = entry
    sql, params = _substituted(compiled, values)
    connection = connections[using]

    def fetch() -> list[tuple]:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()

    rows = fetch() if rows_cache is None or using != DEFAULT_DB_ALIAS else rows_cache.get((key, values), fetch)
    found = []
    for row in rows:
        if converters:
            row = list(row)
            for position, (functions, expression) in converters:
                for function in functions:
                    row[position] = function(row[position], expression, connection)
        found.append(model.from_db(using, names, row))
    return found


def clear() -> None:
    _MEMO.clear()
    _INSTANCES.clear()
    _TOTALS.clear()
