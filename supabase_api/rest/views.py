"""`/rest/v1/<table>`: GET / HEAD (reads), POST (insert, upsert), PATCH (update), DELETE.

A DRF view, so the project's throttle (`monitoring.throttles.SubscriptionTierThrottle`, by
subscription tier) and the request parsing are the API's; authentication is the anon key plus
the user's bearer (`supabase_api.keys`); every answer and refusal is PostgREST's.
"""

from __future__ import annotations

import orjson
from django.core.exceptions import RequestDataTooBig
from django.http import HttpResponse
from rest_framework import exceptions

from supabase_api.keys import BadJwt, SupabaseKeyAuthentication
from supabase_api.rest import grammar, writes
from supabase_api.rest.errors import RestError
from supabase_api.rest.plan import plan
from supabase_api.rest.reads import Bases, read
from supabase_api.views import SupabaseView

OBJECT = "application/vnd.pgrst.object+json"
JSON = "application/json"


def preferences(request) -> dict:
    """`Prefer: return=representation, count=exact` → {"return": "representation", "count": "exact"}."""
    found = {}
    for part in request.META.get("HTTP_PREFER", "").split(","):
        name, _, value = part.strip().partition("=")
        if name:
            found[name.strip().lower()] = value.strip().lower()
    return found


def wants_object(request) -> bool:
    accept = request.META.get("HTTP_ACCEPT", "")
    if OBJECT in accept:
        return True
    if accept and not any(t in accept for t in (JSON, "*/*", "application/*")):
        raise RestError("PGRST107", f"None of these media types are available: {accept[:100]}", status=406)
    return False


def content_range(offset: int, rows: int, total: int | None) -> str:
    shown = "*" if total is None else str(total)
    if rows == 0:
        return f"*/{shown}"
    return f"{offset}-{offset + rows - 1}/{shown}"


def json_response(body: bytes, status: int = 200, *, single: bool = False) -> HttpResponse:
    kind = OBJECT if single else JSON
    return HttpResponse(body, status=status, content_type=f"{kind}; charset=utf-8")


def single_body(body: bytes, rows: int) -> bytes:
    """The one object of a one-row JSON array; PGRST116 (406) otherwise."""
    if rows != 1:
        raise RestError("PGRST116", "JSON object requested, multiple (or no) rows returned",
                        details=f"The result contains {rows} rows", status=406)
    return orjson.dumps(orjson.loads(body)[0])


class RestView(SupabaseView):
    authentication_classes = [SupabaseKeyAuthentication]

    def handle_exception(self, exc):
        if isinstance(exc, RestError):
            return exc.response()
        if isinstance(exc, BadJwt):
            code, message = ("PGRST303", "JWT expired") if exc.expired else ("PGRST301", exc.reason)
            response = RestError(code, message, status=401).response()
            response["WWW-Authenticate"] = 'Bearer error="invalid_token"'
            return response
        if isinstance(exc, exceptions.Throttled):
            response = RestError("PGRST429", "Rate limit exceeded for your subscription tier.",
                                 details=str(exc.detail.get("detail") if isinstance(exc.detail, dict) else exc.detail),
                                 status=429).response()
            if exc.wait:
                response["Retry-After"] = str(int(exc.wait))
            return response
        if isinstance(exc, RequestDataTooBig):
            return RestError("PGRST413", "The request body is over the size limit.", status=413).response()
        return super().handle_exception(exc)

    # --- reads ---------------------------------------------------------------------------------
    def get(self, request, table):
        return self._read(request, table, head=False)

    def head(self, request, table):
        return self._read(request, table, head=True)

    def _read(self, request, table, *, head: bool):
        query = grammar.parse_query(_items(request.GET))
        node = plan(table, query, request.user)
        prefer = preferences(request)
        count = prefer.get("count") in ("exact", "planned", "estimated")
        single = wants_object(request)
        offset = query.offset.get((), 0)
        result = read(node, Bases(request), request.user, limit=query.limit.get(()), offset=offset, count=count)
        status = 200
        if result.total is not None:
            if offset > result.total:
                raise RestError("PGRST103", "Requested range not satisfiable",
                                details=f"An offset of {offset} was requested, but there are only {result.total} rows.",
                                status=416)
            if result.rows < result.total and not single:
                status = 206
        body = single_body(result.body, result.rows) if single else result.body
        response = json_response(b"" if head else body, status, single=single)
        response["Content-Range"] = content_range(offset, result.rows, result.total)
        if count:
            response["Preference-Applied"] = "count=exact"
        return response

    # --- writes --------------------------------------------------------------------------------
    def post(self, request, table):
        return writes.insert(request, table, preferences(request), wants_object(request))

    def patch(self, request, table):
        return writes.update(request, table, preferences(request), wants_object(request))

    def delete(self, request, table):
        return writes.delete(request, table, preferences(request), wants_object(request))

    def put(self, request, table):
        raise RestError("PGRST117", "Unsupported HTTP method: PUT", status=405,
                        hint="Upsert with POST and Prefer: resolution=merge-duplicates (docs/supabase.md).")


def _items(querydict):
    for key, values in querydict.lists():
        for value in values:
            yield key, value


def rest_not_found(request, *args):
    return RestError("PGRST125", f"Invalid path specified in request URL: {request.path[:200]}", status=404).response()
