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

from collections.abc import Callable, Hashable

from django.db import connections
from django.db.models import QuerySet

_MEMO: dict[Hashable, tuple[str, tuple[int, ...], tuple]] = {}
# key → (sql, positions, params, db alias, model, field attnames, converters)
_INSTANCES: dict[Hashable, tuple] = {}
MAX_ENTRIES = 512


def compile_for_user(key: Hashable, user, build: Callable[[], QuerySet]) -> tuple[str, list]:
    """SQL and params of `build()` (a queryset restricted for `user`), compiled once per key."""
    entry = _MEMO.get(key)
    if entry is None:
        queryset = build()
        sql, params = queryset.query.get_compiler(using=queryset.db).as_sql()
        positions = tuple(i for i, value in enumerate(params) if value == user.pk)
        if len(_MEMO) < MAX_ENTRIES:
            _MEMO[key] = (sql, positions, tuple(params))
        return sql, list(params)
    sql, positions, params = entry
    params = list(params)
    for i in positions:
        params[i] = user.pk
    return sql, params


def instances_by(key: Hashable, value, build: Callable[[], QuerySet]) -> list:
    """The model instances of `build()`, a queryset of one model's rows filtered by `value`
    (e.g. a user by id), its SQL compiled once per key: later calls only swap `value` in.

    Rows become instances as Django's ModelIterable makes them (the fields' converters, then
    `Model.from_db`). A queryset with related or annotated columns is not memoized (run as is).
    """
    entry = _INSTANCES.get(key)
    if entry is None:
        queryset = build()
        compiler = queryset.query.get_compiler(using=queryset.db)
        sql, params = compiler.as_sql()
        info = compiler.klass_info
        positions = tuple(i for i, param in enumerate(params) if param == value)
        if (info is None or info.get("related_klass_infos") or compiler.annotation_col_map or not positions
                or len(_INSTANCES) >= MAX_ENTRIES):
            return list(queryset)
        columns = [column for column, _, _ in compiler.select]
        entry = _INSTANCES[key] = (sql, positions, tuple(params), queryset.db, info["model"],
                                   [column.target.attname for column in columns],
                                   list(compiler.get_converters(columns).items()))
    sql, positions, params, using, model, names, converters = entry
    params = list(params)
    for i in positions:
        params[i] = value
    connection = connections[using]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
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
