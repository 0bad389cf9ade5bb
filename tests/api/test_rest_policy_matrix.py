"""The policy matrix (tests/api/matrix.py) run against `/rest/v1`: same world, same actors, same
expectations, read in PostgREST's terms (the table is imported, never copied).

How an `/api/v1` expectation reads under `/rest/v1` (PostgREST under RLS):
- list: the same rows (anonymous, 401 there: the anon key reads nothing, `[]`);
- retrieve: 200 → the object (`Accept: application/vnd.pgrst.object+json`); 404/401 → 406 PGRST116;
- create: 201 → 201; 400 → 400 (the same serializer refusal); 401 → 401 (42501); 405 (no user
  writes) → 403 42501 "permission denied for table";
- update / delete / activate / pause / mark_read: a success → the row in the representation
  (deleted: gone); 403, 404, 401 → 0 rows, `[]`, the row unchanged; 405 → 42501; 409 (a
  service's refusal, e.g. deleting a live deployment) → 409. A body naming a
  column users may not write (the matrix's deployment update sets `deployment_url`) → 42501 for
  everyone: `/api/v1` skips read-only fields silently, `/rest/v1` refuses them as PostgreSQL's
  column privileges would;
- users update (405 there: `/api/v1` changes a profile only at `users/me`): `/rest/v1` takes
  PATCH users under the policy's writers, so the row comes back exactly when the policy lets
  the actor edit it (self, superusers).
- actions without a PostgREST form (they would be RPCs: instantiate, deploy, stop, thoughts,
  rotate_secret, bulk, ...) and reads that are not rows of the table (dashboard, aggregate,
  summary, unread_count, me, mind_map) are not run here (NO_REST_FORM).

Each case runs in a savepoint that is rolled back, so every case sees the same world; all
mismatches are reported together.
"""

from __future__ import annotations

from django.db import transaction
from django.urls import resolve
from django.utils import timezone

from echelon.policy import policy_for
from supabase_api.rest.resources import takes
from supabase_api.rest.schema import tables
from tests.api.matrix import RESOURCES, resolve_body
from tests.supabase.clients import supabase_client

OBJECT = "application/vnd.pgrst.object+json"
NO_REST_FORM = {"instantiate", "deploy", "dashboard", "stop", "rotate_secret", "thoughts", "mind_map", "bulk",
                "aggregate", "mark_all_read", "unread_count", "me", "me_update", "summary"}
REST_ACTIONS = {"activate": {"status": "active"}, "pause": {"status": "paused"},
                "mark_read": {"read_at": "now"}}


def _table_of(resource) -> tuple[str, type]:
    view = resolve(resource.url).func.cls
    return view.queryset.model._meta.db_table, view.serializer_class


def _columns(body: dict, serializer_class) -> dict:
    """A DRF body (field names) as a PostgREST body (column names)."""
    columns = serializer_class._field_columns
    return {columns.get(name, name): value for name, value in body.items()}


def _expected(resource, table, operation, drf, actor, world, body):
    """What `/rest/v1` must answer for the matrix's `drf` expectation (see the module docstring)."""
    schema = tables()[table]
    anonymous = actor == "anonymous"
    denied = ("status", 401 if anonymous else 403)
    if operation == "list":
        return ("rows", set() if drf == "-" else set(drf.split()))
    if operation == "retrieve":
        return ("status", 200) if drf == "200" else ("status", 406)
    if operation == "create":
        return {"201": ("status", 201), "400": ("status", 400), "401": ("status", 401)}.get(drf, denied)
    kind = "delete" if operation == "delete" else "update"
    if kind == "delete" and not takes(schema, "destroy"):
        return denied
    if drf == "409":  # refused by the service (a live deployment is stopped, not deleted)
        return ("status", 409)
    if kind == "update":
        if not (takes(schema, "update") or table in ("users", "notifications")):
            return denied
        if any(c not in schema.columns.writable for c in body):
            return denied
        if drf == "405":  # users: /api/v1 has no PATCH users/{id}
            target = world[resource.target]
            can = not anonymous and policy_for(type(target)).can_edit(world[actor], target)
            return ("changed", can)
    return ("changed", drf in ("200", "204"))


def _run(client, table, operation, target, body):
    url = f"/rest/v1/{table}"
    if operation == "list":
        return client.get(url, {"select": "id", "limit": 1000})
    if operation == "retrieve":
        return client.get(url, {"select": "id", "id": f"eq.{target.pk}"}, HTTP_ACCEPT=OBJECT)
    if operation == "create":
        return client.post(url + "?select=id", body, format="json", HTTP_PREFER="return=representation")
    if operation == "delete":
        return client.delete(f"{url}?select=id&id=eq.{target.pk}", HTTP_PREFER="return=representation")
    return client.patch(f"{url}?select=id&id=eq.{target.pk}", body, format="json", HTTP_PREFER="return=representation")


def _check(expected, response, target, operation, world) -> str | None:
    what, value = expected
    if what == "status":
        if response.status_code != value:
            return f"status {response.status_code} (wanted {value}): {response.content[:200]!r}"
        if value >= 400 and not {"code", "message"} <= set(response.json()):
            return f"not PostgREST's error shape: {response.content[:200]!r}"
        return None
    if response.status_code != 200:
        return f"status {response.status_code} (wanted 200): {response.content[:200]!r}"
    if what == "rows":
        by_id = {str(obj.pk): key for key, obj in world.items() if hasattr(obj, "pk")}
        got = {by_id.get(row["id"], row["id"]) for row in response.json()}
        return None if got == value else f"rows {sorted(got)} (wanted {sorted(value)})"
    rows = response.json()
    wanted = [{"id": str(target.pk)}] if value else []
    if rows != wanted:
        return f"representation {rows} (wanted {wanted})"
    exists = type(target)._default_manager.filter(pk=target.pk).exists()
    if operation == "delete" and exists == value:
        state, matched = ("still there" if exists else "gone"), ("matched" if value else "did not match")
        return f"row {state} after a delete that {matched}"
    return None


def test_policy_matrix_over_rest_v1(world, settings):
    # one test makes every case's request: the tiers' quotas are lifted (they are tested elsewhere)
    settings.ECHELON_RATE_LIMITS = {tier: {"requests": 10**9, "window_seconds": 60}
                                    for tier in ("anonymous", "free", "pro", "enterprise")}
    mismatches, ran = [], 0
    for name, resource in RESOURCES.items():
        table, serializer_class = _table_of(resource)
        target = world[resource.target]
        for actor, expected_row in resource.rows().items():
            user = None if actor == "anonymous" else world[actor]
            for operation, drf in expected_row.items():
                if operation in NO_REST_FORM:
                    continue
                if operation in REST_ACTIONS:
                    body = dict(REST_ACTIONS[operation])
                    body = {k: timezone.now().isoformat() if v == "now" else v for k, v in body.items()}
                elif operation == "create":
                    body = _columns(resolve_body(resource.create, world), serializer_class)
                else:
                    body = _columns(resolve_body(resource.update, world), serializer_class)
                expected = _expected(resource, table, operation, drf, actor, world, body)
                with transaction.atomic():
                    response = _run(supabase_client(user), table, operation, target, body)
                    problem = _check(expected, response, target, operation, world)
                    transaction.set_rollback(True)
                ran += 1
                if problem:
                    mismatches.append(f"{name} {actor} {operation} (api/v1: {drf}): {problem}")
    assert ran > 250, ran
    assert not mismatches, "\n".join(mismatches)
