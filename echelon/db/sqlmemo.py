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

from django.db.models import QuerySet

_MEMO: dict[Hashable, tuple[str, tuple[int, ...], tuple]] = {}
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


def clear() -> None:
    _MEMO.clear()
