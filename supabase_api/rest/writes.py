"""POST / PATCH / DELETE under `/rest/v1`: the `/api/v1` serializers and viewsets do the writing.

- Which rows: an update or delete touches the rows its filters match among those the policy
  lets the user change (`editable_by` / `deletable_by` of the viewset's rows), so rows the user
  may not change are simply not matched: 0 rows, no error, as under RLS.
- How: each row goes through the table's serializer (`get_serializer(...)`, validation, the
  services it calls, owner fields from the user) and the viewset's `perform_create` /
  `perform_update` / `perform_destroy` (one transaction, the "still yours" re-check), all in one
  transaction per request: a refusal on any row writes nothing.
- Which columns: a body names columns; one the reader cannot see does not exist (PGRST204), one
  it sees but may not write is refused (42501) — DRF's silent skip of read-only fields would
  let `{status: "deployed"}` look accepted.
- Writes `/api/v1` makes through an action rather than a PATCH of the row: `users` (your
  profile, as `users/me`) and `notifications` (`read_at`: marked read by the mark-read service,
  at the server's time).
"""

from __future__ import annotations

import functools
from uuid import UUID

import orjson
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import Q
from django.http import HttpResponse
from rest_framework import exceptions

from echelon import errors
from notifications.services import notifications_mark_read
from supabase_api.rest import grammar
from supabase_api.rest.errors import RestError, permission_denied
from supabase_api.rest.plan import Node, plan, table_named
from supabase_api.rest.reads import Bases, database_error, read
from supabase_api.rest.resources import takes, viewset
from supabase_api.rest.schema import Table
from supabase_api.rest.sql import keys_statement

# DRF error codes → the PostgreSQL code a PostgREST client would see for the same refusal
_VALIDATION_CODES = {"required": "23502", "null": "23502", "blank": "23502", "does_not_exist": "23503",
                     "incorrect_type": "23503", "max_length": "22001", "invalid_choice": "23514",
                     "unique": "23505"}


def _anonymous(request) -> bool:
    return not request.user.is_authenticated


def _query(request) -> grammar.Query:
    return grammar.parse_query((k, v) for k, values in request.GET.lists() for v in values)


# --- bodies --------------------------------------------------------------------------------------
def body_rows(request, columns: list | None, missing_default: bool) -> list[dict]:
    try:
        data = orjson.loads(request.body or b"")
    except orjson.JSONDecodeError:
        raise RestError("PGRST102", "Empty or invalid json") from None
    rows = data if isinstance(data, list) else [data]
    if not rows or not all(isinstance(row, dict) for row in rows):
        raise RestError("PGRST102", "Empty or invalid json", details="An object or an array of objects is expected.")
    if columns is not None:
        wanted = list(dict.fromkeys(columns))
        # keys outside `columns` are ignored; a missing one is NULL unless Prefer: missing=default
        return [{c: row[c] if c in row else None for c in wanted if c in row or not missing_default}
                for row in rows]
    if len(rows) > 1 and len({frozenset(row) for row in rows}) > 1:
        raise RestError("PGRST102", "All object keys must match")
    return rows


class Fields:
    """Body columns ↔ the serializer's fields, checked against the reader's rights."""

    def __init__(self, table: Table, request, serializer_class):
        self.table, self.request = table, request
        self.by_column = {column: name for name, column in serializer_class._field_columns.items()
                          if column in table.columns.published}

    def check(self, row: dict, allowed_keys: frozenset = frozenset()) -> None:
        anonymous = _anonymous(self.request)
        for column in row:
            if column in allowed_keys:
                continue
            if column not in self.table.selectable(self.request.user) or column not in self.by_column:
                raise RestError("PGRST204",
                                f"Could not find the '{column}' column of '{self.table.name}' in the schema cache")
            if column not in self.table.columns.writable:
                raise permission_denied(anonymous, f"permission denied for column {column} of table {self.table.name}",
                                        "The server sets this column (docs/security.md, \"Columns\": who writes which column).")

    def data(self, row: dict, skip: frozenset = frozenset()) -> dict:
        return {self.by_column[c]: v for c, v in row.items() if c not in skip}

    def column_of(self, field_name: str) -> str:
        for column, name in self.by_column.items():
            if name == field_name:
                return column
        return field_name


def validation_error(exc: exceptions.ValidationError, fields: Fields) -> RestError:
    detail = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
    messages, first_code = [], None
    for name, problems in detail.items():
        problems = problems if isinstance(problems, list) else [problems]
        column = fields.column_of(name)
        for problem in problems:
            text = str(problem if not isinstance(problem, dict) else next(iter(problem.values()), problem))
            messages.append(text if name == "non_field_errors" else f"{column}: {text}")
            first_code = first_code or getattr(problem, "code", None)
    code = _VALIDATION_CODES.get(first_code, "22023")
    status = 409 if exc.status_code == 409 or code == "23505" else 400
    if exc.status_code == 409:
        code = "23505"
    return RestError(code, messages[0] if messages else "Invalid input.",
                     details="; ".join(messages[1:]) or None, status=status)


def write_error(exc: Exception, request) -> RestError | None:
    """A refusal raised while writing (services, re-checks, constraints) in PostgREST's shape."""
    anonymous = _anonymous(request)
    if isinstance(exc, errors.Conflict):
        return RestError("P0001", str(exc), status=409)
    if isinstance(exc, errors.DomainError):  # any other service refusal: its status, PostgreSQL's raise code
        return RestError("P0001", exc.message, status=errors.STATUS_OF_KIND[exc.kind])
    if isinstance(exc, exceptions.PermissionDenied | DjangoPermissionDenied):
        return permission_denied(anonymous, str(getattr(exc, "detail", exc)) or "permission denied")
    if isinstance(exc, DjangoValidationError):
        return RestError("23514", "; ".join(exc.messages))
    if isinstance(exc, IntegrityError | DatabaseError):
        return database_error(exc) or (RestError("23000", "The request conflicts with existing data.", status=409)
                                       if isinstance(exc, IntegrityError) else None)
    return None


# --- the write paths -----------------------------------------------------------------------------
def _serializer_class(table: Table, request):
    view = viewset(table, request, "create")
    return view.get_serializer_class() if view is not None else None


def _create(table: Table, request, fields: Fields, data: dict):
    view = viewset(table, request, "create")
    serializer = view.get_serializer(data=data)
    try:
        serializer.is_valid(raise_exception=True)
    except exceptions.ValidationError as exc:
        raise validation_error(exc, fields) from None
    view.perform_create(serializer)
    return serializer.instance


def _update(table: Table, request, fields: Fields, instance, data: dict):
    view = viewset(table, request, "partial_update")
    serializer = view.get_serializer(instance, data=data, partial=True)
    for name in data:
        if serializer.fields[name].read_only:
            raise permission_denied(_anonymous(request), f"permission denied for column {fields.column_of(name)} "
                                    f"of table {table.name}", "It is set when the row is created.")
    try:
        serializer.is_valid(raise_exception=True)
    except exceptions.ValidationError as exc:
        raise validation_error(exc, fields) from None
    if hasattr(view, "perform_update"):
        view.perform_update(serializer)
    else:  # `users`: your profile, saved as users/me saves it
        serializer.save()
    return serializer.instance


def _check_mark_read(request, row: dict) -> None:
    if set(row) != {"read_at"} or row["read_at"] is None:
        raise permission_denied(_anonymous(request), "notifications take one change: read_at (marked read at the "
                                "server's time); marking unread is not served")


def _updatable(table: Table) -> bool:
    return takes(table, "update") or table.name == "users"


def _changeable(table: Table, request, rule: str):
    def restrict(t: Table, queryset):
        if t is not table:
            return queryset
        policy = t.policy
        return (policy.deletable_by if rule == "delete" else policy.editable_by)(request.user, queryset)

    return restrict


def _matching(table: Table, request, node: Node, rule: str, limit) -> list:
    bases = Bases(request, restrict=_changeable(table, request, rule))
    sql, params = keys_statement(node, bases, limit=limit)
    try:
        keys = [row[0] for row in _fetch(sql, params)]
    except DatabaseError as exc:
        raise database_error(exc) or exc from None
    instances = {i.pk: i for i in table.model._default_manager.filter(pk__in=keys)}
    return [instances[k] for k in keys if k in instances]


def _fetch(sql: str, params: list) -> list:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _conflict_target(table: Table, names: list | None) -> tuple:
    """The columns of `on_conflict`: the primary key or a unique constraint's columns (42P10)."""
    model = table.model
    if not names:
        return (table.pk,)
    uniques = [{f.column} for f in model._meta.concrete_fields if f.unique]
    for constraint in model._meta.constraints:
        if getattr(constraint, "fields", None) and getattr(constraint, "condition", None) is None:
            uniques.append({model._meta.get_field(name).column for name in constraint.fields})
    if set(names) not in uniques:
        raise RestError("42P10", "there is no unique or exclusion constraint matching the ON CONFLICT specification",
                        hint="on_conflict names the primary key or the columns of a unique constraint.")
    return tuple(names)


def _existing(table: Table, target: tuple, rows: list) -> dict:
    """Stored rows (any owner: a conflict is the database's, as in PostgreSQL) by conflict key."""
    attnames = {f.column: f.attname for f in table.model._meta.concrete_fields}
    wanted = [row for row in rows if all(c in row and row[c] is not None for c in target)]
    if not wanted:
        return {}
    query = Q()
    for row in wanted:
        query |= Q(**{attnames[c]: row[c] for c in target})
    try:
        found = list(table.model._default_manager.filter(query))
    except (DjangoValidationError, ValueError) as exc:
        raise RestError("22P02", f"invalid input syntax in {', '.join(target)}: {exc}") from None
    return {tuple(_key(getattr(obj, attnames[c])) for c in target): obj for obj in found}


def _key(value):
    return str(value) if isinstance(value, UUID) else value


def _row_key(row: dict, target: tuple):
    return tuple(_key(_uuid_or(row.get(c))) for c in target)


def _uuid_or(value):
    try:
        return str(UUID(str(value)))
    except ValueError:
        return value


def _respond(request, node: Node, pks: list, prefer: dict, single: bool, *, created: bool, rows=None):
    """The answer of a write: the rows written (representation), or nothing (minimal)."""
    count = prefer.get("count") in ("exact", "planned", "estimated")
    wanted = prefer.get("return", "minimal")
    status = 201 if created else 200
    content_range = f"0-{len(pks) - 1}/{len(pks) if count else '*'}" if pks else f"*/{0 if count else '*'}"
    if wanted != "representation":
        if single and len(pks) != 1:
            raise RestError("PGRST116", "JSON object requested, multiple (or no) rows returned",
                            details=f"The result contains {len(pks)} rows", status=406)
        response = HttpResponse(status=201 if created else 204)
        response["Content-Range"] = content_range
        return response
    body = rows if rows is not None else _representation(request, node, pks)
    if single:
        if len(pks) != 1:
            raise RestError("PGRST116", "JSON object requested, multiple (or no) rows returned",
                            details=f"The result contains {len(pks)} rows", status=406)
        body = orjson.dumps(orjson.loads(body)[0])
    response = HttpResponse(body, status=status, content_type=(
        "application/vnd.pgrst.object+json" if single else "application/json") + "; charset=utf-8")
    response["Content-Range"] = content_range
    return response


def _representation(request, node: Node, pks: list) -> bytes:
    """The written rows as the reader sees them, in write order; a row the user may not read
    afterwards is RLS's "new row violates row-level security policy" (everything rolls back)."""
    root = node.table

    def only_written(table, queryset):
        return queryset.filter(pk__in=pks) if table is root else queryset

    node.conditions = []
    node.order, node.limit, node.offset = [], None, None
    node.pk_order = list(pks)
    result = read(node, Bases(request, restrict=only_written), request.user, limit=len(pks) or 1)
    if result.rows < len(pks):
        raise permission_denied(_anonymous(request),
                                f'new row violates row-level security policy for table "{root.name}"')
    return result.body


def refusals_as_rest_errors(write):
    """A refusal raised while writing (service, re-check, constraint) answers in PostgREST's
    shape; the transaction it interrupted has rolled back."""

    @functools.wraps(write)
    def wrapped(request, *args, **kwargs):
        try:
            return write(request, *args, **kwargs)
        except RestError:
            raise
        except Exception as exc:
            error = write_error(exc, request)
            if error is None:
                raise
            raise error from None

    return wrapped


@refusals_as_rest_errors
def insert(request, table_name: str, prefer: dict, single: bool):
    table = table_named(table_name)
    query = _query(request)
    node = plan(table_name, query, request.user)
    anonymous = _anonymous(request)
    if anonymous or not takes(table, "create"):
        raise permission_denied(anonymous, f'new row violates row-level security policy for table "{table.name}"'
                                if anonymous else f"permission denied for table {table.name}",
                                None if anonymous else "This table is written by the server, not by users.")
    resolution = prefer.get("resolution")
    if resolution not in (None, "merge-duplicates", "ignore-duplicates"):
        raise RestError("PGRST100", f"unknown resolution {resolution!r}")
    rows = body_rows(request, query.columns, prefer.get("missing") == "default")
    fields = Fields(table, request, _serializer_class(table, request))
    target = _conflict_target(table, query.on_conflict) if resolution else ()
    written = []
    with transaction.atomic():
        existing = _existing(table, target, rows) if resolution else {}
        for row in rows:
            match = existing.get(_row_key(row, target)) if resolution else None
            if match is None:
                fields.check(row)
                written.append(_create(table, request, fields, fields.data(row)).pk)
                continue
            if resolution == "ignore-duplicates":
                continue
            fields.check(row, allowed_keys=frozenset(target))
            if not table.policy.can_edit(request.user, match):
                raise permission_denied(anonymous, "new row violates row-level security policy (USING expression) "
                                        f'for table "{table.name}"')
            data = fields.data(row, skip=frozenset(target))
            written.append(_update(table, request, fields, match, data).pk if data else match.pk)
        return _respond(request, node, written, prefer, single, created=True)


@refusals_as_rest_errors
def update(request, table_name: str, prefer: dict, single: bool):
    table = table_named(table_name)
    query = _query(request)
    node = plan(table_name, query, request.user)
    anonymous = _anonymous(request)
    if not _updatable(table) and table.name != "notifications":
        raise permission_denied(anonymous, f"permission denied for table {table.name}",
                                "This table is written by the server, not by users.")
    rows = body_rows(request, None, False)
    if len(rows) != 1:
        raise RestError("PGRST102", "An update takes one object")
    row = rows[0]
    with transaction.atomic():
        if table.name == "notifications":
            _check_mark_read(request, row)
        instances = _matching(table, request, node, "edit", query.limit.get(()))
        if table.name == "notifications":
            if instances:
                notifications_mark_read(user=request.user, ids=[i.pk for i in instances])
            return _respond(request, node, [i.pk for i in instances], prefer, single, created=False)
        fields = Fields(table, request, _serializer_class(table, request) or _profile_serializer(table, request))
        fields.check(row)
        data = fields.data(row)
        for instance in instances:
            _update(table, request, fields, instance, data)
        return _respond(request, node, [i.pk for i in instances], prefer, single, created=False)


def _profile_serializer(table: Table, request):
    view = viewset(table, request, "partial_update")
    return view.get_serializer_class()


@refusals_as_rest_errors
def delete(request, table_name: str, prefer: dict, single: bool):
    table = table_named(table_name)
    query = _query(request)
    node = plan(table_name, query, request.user)
    anonymous = _anonymous(request)
    if not takes(table, "destroy"):
        raise permission_denied(anonymous, f"permission denied for table {table.name}",
                                "This table is written by the server, not by users.")
    with transaction.atomic():
        instances = _matching(table, request, node, "delete", query.limit.get(()))
        pks = [i.pk for i in instances]
        rows = _representation(request, node, pks) if prefer.get("return") == "representation" and pks else None
        view = viewset(table, request, "destroy")
        for instance in instances:
            view.perform_destroy(instance)
        return _respond(request, node, pks, prefer, single, created=False, rows=rows or b"[]")
