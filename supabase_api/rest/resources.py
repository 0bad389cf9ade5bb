"""Each exposed table's `/api/v1` viewset: where `/rest/v1` gets its rows and its writes.

The viewset serving a model is found in `/api/v1`'s URLconf (no second list): its
`get_queryset()` is the reader's rows (`policy.visible_to(user)` plus what the viewset adds, e.g.
notifications hide expired ones), its serializer validates and writes through the services,
its `perform_create` / `perform_update` / `perform_destroy` are the writes `/rest/v1` makes.
"""

from __future__ import annotations

from functools import cache

from django.core.exceptions import EmptyResultSet
from django.db.models import QuerySet
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework import mixins

from echelon.api.viewsets import PolicyMixin
from supabase_api.rest.schema import Table


def _patterns(patterns):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _patterns(pattern.url_patterns)
        elif isinstance(pattern, URLPattern):
            yield pattern


@cache
def viewsets() -> dict[str, type]:
    """db_table → the `/api/v1` viewset class serving that model."""
    found: dict[str, type] = {}
    for pattern in _patterns(get_resolver("echelon.api.urls").url_patterns):
        cls = getattr(pattern.callback, "cls", None)
        if cls is not None and issubclass(cls, PolicyMixin) and getattr(cls, "queryset", None) is not None:
            found.setdefault(cls.queryset.model._meta.db_table, cls)
    return found


def viewset(table: Table, request, action: str):
    """The table's viewset, set up for `request` as DRF would for `action`."""
    cls = viewsets().get(table.name)
    if cls is None:
        return None
    view = cls(request=request, format_kwarg=None, action=action, args=(), kwargs={})
    view.headers = {}
    return view


def takes(table: Table, operation: str) -> bool:
    """Whether the table's viewset offers `operation` ("create", "update", "destroy")."""
    cls = viewsets().get(table.name)
    mixin = {"create": mixins.CreateModelMixin, "update": mixins.UpdateModelMixin,
             "destroy": mixins.DestroyModelMixin}[operation]
    return cls is not None and issubclass(cls, mixin)


def readable(table: Table, request) -> QuerySet:
    """The rows of `table` the request's user may read, as `/api/v1` lists them."""
    view = viewset(table, request, "list")
    if view is None:
        return table.policy.visible_to(request.user)
    return view.get_queryset()


def memoizable(table: Table) -> bool:
    """Whether the table's readable rows are the policy's alone (the viewset adds nothing), so
    their SQL depends on the user only through its id and superuser flag."""
    cls = viewsets().get(table.name)
    return cls is not None and cls.get_queryset is PolicyMixin.get_queryset


def base_queryset(queryset: QuerySet, table: Table) -> QuerySet:
    """`queryset` as a plain subquery: the published columns under their column names, no
    ordering, no joined selects (so PostgreSQL can flatten it into the outer query)."""
    published = set(table.column_order)
    names = [f.attname for f in table.model._meta.concrete_fields if f.column in published]
    return queryset.order_by().select_related(None).values(*names)


def compiled(queryset: QuerySet, table: Table) -> tuple[str, list]:
    """SQL and params of `queryset`; a queryset that can match nothing (`.none()`: anonymous
    readers) is a typed row set that is empty."""
    try:
        sql, params = queryset.query.get_compiler(using=queryset.db).as_sql()
    except EmptyResultSet:
        columns = ", ".join(f'NULL::{table.types[c]} AS "{table.attnames[c]}"' for c in table.column_order)
        return f"SELECT {columns} WHERE FALSE", []
    return sql, list(params)
