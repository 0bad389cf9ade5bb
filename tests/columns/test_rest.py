"""Column walk over REST (issue 12, point 1): every model × list and retrieve × reader kind.

Each row a reader gets shows exactly the columns its kind sees (`policy.visible_columns`), never a
`never` column, and no sentinel or password hash appears anywhere in the body. The endpoints are
found from the URL configuration, so a new viewset is walked without being listed here.
"""

from __future__ import annotations

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from rest_framework.test import APIClient

from accounts.models import User
from echelon.api.viewsets import PolicyMixin
from echelon.policy import policy_for
from echelon.auth.tokens import access_token_for
from tests.columns.support import READERS, expected_columns, never_values, walked_models

pytestmark = pytest.mark.django_db


def _viewset_routes(resolver=None, namespace=""):
    """(url name, viewset class, action) of every policy viewset route."""
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _viewset_routes(entry, inner)
        elif isinstance(entry, URLPattern):
            cls = getattr(entry.callback, "cls", None)
            action = (getattr(entry.callback, "actions", None) or {}).get("get")
            if cls is not None and issubclass(cls, PolicyMixin) and action in ("list", "retrieve"):
                yield namespace + entry.name, cls, action


def routes_for(model):
    found = {}
    for name, cls, action in _viewset_routes():
        if cls.queryset.model is model:
            found[action] = (name, cls)
    return found


def client_as(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access_token_for(user)}")
    return client


def shown_columns(serializer_class, body: dict) -> frozenset:
    mapping = serializer_class._field_columns  # field name → the column it shows
    unknown = set(body) - set(mapping)
    assert not unknown, f"{serializer_class.__name__} sent fields that are no declared column: {unknown}"
    return frozenset(mapping[name] for name in body)


def rows_of(body):
    return body["results"] if isinstance(body, dict) and "results" in body else body


@pytest.mark.parametrize("model", walked_models(), ids=lambda m: m._meta.db_table)
def test_rest_list_and_retrieve_show_exactly_the_declared_columns(world, model):
    routes = routes_for(model)
    assert set(routes) == {"list", "retrieve"}, f"{model.__name__} has no REST list/retrieve to walk: {routes}"
    secrets = never_values(world)
    row = world["rows"][model]
    checked = 0
    for reader_name in READERS:
        reader = world[reader_name]
        client = client_as(reader)
        list_name, viewset = routes["list"]
        serializer = viewset.serializer_class
        listed = client.get(reverse(list_name), {"page_size": 100} if model is not User else {})
        assert listed.status_code == 200, (reader_name, listed.content[:300])
        detail = client.get(reverse(routes["retrieve"][0], kwargs={"pk": row.pk}))
        for text in (listed.content.decode(), detail.content.decode()):
            assert not [s for s in secrets if s in text], (model.__name__, reader_name)
        by_id = {str(r.pk): r for r in model._default_manager.all()}
        for item in rows_of(listed.json()):
            instance = by_id[item["id"]]
            assert shown_columns(serializer, item) == expected_columns(reader, instance), (reader_name, item)
            checked += 1
        if not policy_for(model).can_read(reader, row):
            assert detail.status_code == 404, (model.__name__, reader_name)
        else:
            assert detail.status_code == 200, (reader_name, detail.content[:300])
            assert shown_columns(serializer, detail.json()) == expected_columns(reader, row), reader_name
    assert checked, f"no {model.__name__} row was listed to any reader"


def test_a_teammates_user_row_is_the_public_profile_and_ones_own_row_the_profile(world):
    body = client_as(world["viewer"]).get(reverse("user-detail", kwargs={"pk": world["owner"].pk})).json()
    assert set(body) == {"id", "email", "full_name", "avatar_url"}
    own = client_as(world["viewer"]).get(reverse("user-detail", kwargs={"pk": world["viewer"].pk})).json()
    assert {"subscription_tier", "created_at", "updated_at"} <= set(own)
    assert not {"password", "last_login", "is_active"} & set(own)
    me = client_as(world["viewer"]).get(reverse("user-me")).json()
    assert set(me) == set(own)


def test_the_users_list_mixes_kinds_row_by_row(world):
    """One list, one variant per row: the reader's own row and teammates' public profiles."""
    rows = rows_of(client_as(world["viewer"]).get(reverse("user-list")).json())
    own = [r for r in rows if r["id"] == str(world["viewer"].pk)]
    others = [r for r in rows if r["id"] != str(world["viewer"].pk)]
    assert len(own) == 1 and "subscription_tier" in own[0]
    assert others and all(set(r) == {"id", "email", "full_name", "avatar_url"} for r in others)


def test_the_schema_marks_per_kind_fields_optional(db):
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    user = schema["components"]["schemas"]["User"]
    assert {"id", "email"} <= set(user["required"]) <= {"id", "email", "full_name", "avatar_url"}
    assert {"subscription_tier", "created_at"} <= set(user["properties"])
    workflow = schema["components"]["schemas"]["Workflow"]
    assert "webhook_secret" not in workflow["properties"]
