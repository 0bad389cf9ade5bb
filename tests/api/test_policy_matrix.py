"""The access policy as a matrix (tests/api/matrix.py) over `/api/v1`, and the guard that every
route and action the project serves is in it (or named below with the test that covers it)."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.urls import URLPattern, URLResolver, get_resolver, resolve

from supabase_api.rest.schema import tables
from tests.api.clients import results
from tests.api.matrix import ACTORS, RESOURCES, request

# Routes outside the row-policy matrix, each with what covers it instead. A new route must be
# added to the matrix, or here with its reason; the guard fails otherwise.
NOT_ROW_POLICY = {
    "/api/v1/auth/": "JWT obtain/refresh/logout: tests/api/test_auth.py",
    "/api/v1/hooks/n8n/": "authenticated by its HMAC, not a user: tests/lifecycle/test_hooks.py",
    "/api/v1/schema/": "the OpenAPI document: tests/hardening/test_openapi_fuzz.py",
    "/api/docs/": "Swagger UI page: tests/api/test_schema.py",
    "/auth/v1": "GoTrue endpoints (no row of another user): tests/supabase/test_auth.py",
    "/rest/v1": "PostgREST errors for unknown paths: tests/supabase/test_rest_reads.py",
    "/admin/": "the admin asks the same policies: tests/columns/test_admin.py",
    "/": "server-rendered pages over the same selectors: tests/web/",
}
REST_TABLE_ROUTE = "/rest/v1/<str:table>"
POLICY_ACTION = {"list": "list", "create": "create", "retrieve": "retrieve", "update": "update",
                 "partial_update": "update", "destroy": "delete"}


def _cases():
    for name, resource in RESOURCES.items():
        for actor in resource.rows():
            yield pytest.param(name, actor, id=f"{name}-{actor}")


def _mismatch(resource, actor, operation, expected, response, world) -> str | None:
    """None when `response` is what the matrix says for this cell; else what differs."""
    if operation in resource.row_sets and actor != "anonymous":
        if response.status_code != 200:
            return f"status {response.status_code} (wanted 200): {response.content[:300]!r}"
        wanted = set() if expected == "-" else set(expected.split())
        by_id = {str(obj.pk): key for key, obj in world.items() if hasattr(obj, "pk")}
        got = {by_id.get(row["id"], row["id"]) for row in results(response)}
        return None if got == wanted else f"rows {sorted(got)} (wanted {sorted(wanted)})"
    if operation in resource.row_sets:
        expected = "401"  # no rows to compare: the list refuses without a token
    if response.status_code != int(expected):
        return f"status {response.status_code} (wanted {expected}): {response.content[:300]!r}"
    if response.status_code >= 400 and not ("error" in response.json() and response.json()["error"]["message"]):
        return f"not the API's error shape: {response.content[:300]!r}"
    return None


@pytest.mark.parametrize(("resource_name", "actor"), list(_cases()))
def test_policy_matrix(resource_name, actor, world, as_actor, settings):
    """One line of a table: each cell's request runs in a savepoint rolled back after it, so every
    cell sees the same world (built once per line); every mismatch of the line is reported."""
    settings.N8N_BASE_URL = ""  # deploy/stop talk to no n8n (the local backend)
    resource = RESOURCES[resource_name]
    mismatches = []
    for operation, expected in resource.rows()[actor].items():
        with transaction.atomic():
            response = request(resource, operation, as_actor(actor), world)
            problem = _mismatch(resource, actor, operation, expected, response, world)
            transaction.set_rollback(True)
        if problem:
            mismatches.append(f"{operation}: {problem}")
    assert not mismatches, "\n".join(mismatches)


def test_every_table_has_a_line_per_actor_kind():
    missing = {name: set(ACTORS) - set(resource.rows()) for name, resource in RESOURCES.items()}
    assert not {name: actors for name, actors in missing.items() if actors}


def _routes(resolver, prefix=""):
    """(path as written, callback) of every URL pattern, includes followed."""
    for pattern in resolver.url_patterns:
        text = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern, text)
        elif isinstance(pattern, URLPattern):
            yield "/" + text.replace("^", "").replace("$", ""), pattern.callback


def _served_actions():
    """(route, policy action) of every viewset route under /api/v1/, and every other route."""
    served, others = set(), set()
    for route, callback in _routes(get_resolver()):
        actions = getattr(callback, "actions", None)
        if actions is None:
            others.add(route)
            continue
        for method, action in actions.items():
            if method not in ("head", "options"):
                served.add((route, POLICY_ACTION.get(action, action)))
    return served, others


def _covered(world):
    """(route, policy action) of every request the matrix makes."""
    covered = set()
    for resource in RESOURCES.values():
        detail = f"{resource.url}{world[resource.target].pk}/"
        paths = {"list": resource.url, "create": resource.url, "retrieve": detail, "update": detail, "delete": detail}
        paths |= {op: detail + suffix for op, (_, suffix, _) in resource.actions.items()}
        paths |= {op: resource.url + suffix for op, (_, suffix, _) in resource.collection.items()}
        columns = next(iter(resource.rows().values()))
        for operation in columns:
            match = resolve(paths[operation])
            action = match.func.actions.get(_method(resource, operation)) if hasattr(match.func, "actions") else None
            if action is not None:
                covered.add((_route_of(match), POLICY_ACTION.get(action, action)))
    return covered


def _method(resource, operation) -> str:
    standard = {"list": "get", "retrieve": "get", "create": "post", "update": "patch", "delete": "delete"}
    if operation in standard:
        return standard[operation]
    return (resource.actions.get(operation) or resource.collection[operation])[0]


def _exempt(route: str) -> bool:
    """Named in NOT_ROW_POLICY: the API's exemptions exactly, the page prefixes by prefix."""
    return any(route.startswith(prefix) for prefix in NOT_ROW_POLICY if prefix != "/") or not route.startswith(
        ("/api/", "/rest/", "/auth/", "/admin/"))


def _route_of(match) -> str:
    return "/" + match.route.replace("^", "").replace("$", "")


def test_every_route_and_action_is_in_the_matrix(world):
    """A new route, viewset action or method under the API must get its column in the matrix."""
    served, others = _served_actions()
    served = {(route, action) for route, action in served if not _exempt(route)}
    covered = _covered(world)
    missing = sorted(served - covered)
    # PUT is the same object check as PATCH (PolicyMixin.edit_actions): both map to "update".
    assert not missing, f"routes/actions served but not in tests/api/matrix.py: {missing}"
    unexplained = sorted(route for route in others - {REST_TABLE_ROUTE} if not _exempt(route))
    assert not unexplained, f"routes neither in the matrix nor in NOT_ROW_POLICY: {unexplained}"
    assert REST_TABLE_ROUTE in others, "the /rest/v1 table route moved: update this guard"
    # the walk saw the API itself (not an empty or partial resolver): every resource and the actions
    actions = {action for _, action in served}
    assert {"deploy", "dashboard", "stop", "thoughts", "mind_map", "bulk", "aggregate", "summary",
            "rotate_secret", "me"} <= actions, actions
    assert {route.split("/")[3] for route, _ in served} == {r.url.split("/")[3] for r in RESOURCES.values()}


def test_every_rest_v1_table_is_in_the_matrix():
    """`/rest/v1/<table>` serves every policy table: each must be a matrix resource (the REST
    run of the matrix, tests/api/test_rest_policy_matrix.py, then covers it)."""
    matrix_tables = {resolve(resource.url).func.cls.queryset.model._meta.db_table for resource in RESOURCES.values()}
    assert set(tables()) == matrix_tables, set(tables()) ^ matrix_tables
