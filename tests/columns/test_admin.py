"""Column walk over the admin (issue 12, points 1 and 13): every model × changelist, change form
and add form × staff reader (owner, a staff viewer of the team, an outsider, the superuser).

A change form shows exactly the columns the reader's kind sees of the row, and its inputs only
columns the reader may write; a changelist, its filters and its search only columns every row
shows to the reader; no page holds a sentinel or a password hash.
"""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.core.exceptions import FieldDoesNotExist
from django.test import Client
from django.urls import reverse

from echelon.columns import OPERATOR
from echelon.policy import policy_for
from tests.columns.support import never_values, walked_models

pytestmark = pytest.mark.django_db
ADMIN_READERS = ("owner", "staff", "outsider", "superuser")


def url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def columns_of(model_admin, name) -> set:
    """The columns an admin name shows: a field's column, or a display's declared `columns`."""
    model = model_admin.model
    try:
        field = model._meta.get_field(name)
    except FieldDoesNotExist:
        display = getattr(model_admin, name, None) or getattr(model, name, None)
        columns = getattr(display, "columns", None)
        assert columns is not None, f"{type(model_admin).__name__}.{name} declares no columns"
        return set(columns)
    assert field.concrete, f"{type(model_admin).__name__} shows {name}, which is no column"
    return {field.column}


def list_columns(reader, model) -> frozenset:
    declared = policy_for(model).columns
    return declared.visible(OPERATOR) if reader.is_superuser else declared.common


def form_names(response):
    """(name, is input) of every field a change or add form renders."""
    for fieldset in response.context["adminform"]:
        for line in fieldset:
            for field in line:
                if field.is_readonly:
                    yield field.field["name"], False
                else:
                    yield field.field.name, True


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("model", walked_models(), ids=lambda m: m._meta.db_table)
def test_admin_pages_show_only_the_declared_columns(world, model):
    model_admin = admin.site._registry[model]
    declared = policy_for(model).columns
    secrets = never_values(world)
    row = world["rows"][model]
    for name in ADMIN_READERS:
        reader = world[name]
        client = client_for(reader)
        changelist = client.get(url(model, "changelist"))
        assert changelist.status_code == 200, (name, model.__name__)
        cl = changelist.context["cl"]
        allowed = list_columns(reader, model)
        for entry in cl.list_display:
            if entry != "action_checkbox":
                assert columns_of(model_admin, entry) <= allowed, (name, entry)
        for spec in cl.filter_specs:
            path = getattr(spec, "field_path", None)
            if path:
                assert columns_of(model_admin, path.split("__")[0]) <= allowed, (name, path)
        for entry in cl.search_fields:
            first = entry.lstrip("^=@").split("__")[0]
            assert columns_of(model_admin, first) <= allowed, (name, entry)
        assert not [s for s in secrets if s in changelist.content.decode()], (name, model.__name__)
        for field in model._meta.concrete_fields:  # a query-string filter is no oracle on hidden columns
            if field.column not in allowed:
                probe = client.get(url(model, "changelist"), {f"{field.name}__isnull": "False"})
                assert probe.status_code == 400, (name, model.__name__, field.name)

        change = client.get(url(model, "change", row.pk))
        if not policy_for(model).can_read(reader, row):
            assert change.status_code == 404, (name, model.__name__)
            continue
        assert change.status_code == 200, (name, model.__name__)
        assert not [s for s in secrets if s in change.content.decode()], (name, model.__name__)
        shown, inputs = set(), set()
        for field_name, is_input in form_names(change):
            columns = columns_of(model_admin, field_name)
            shown |= columns
            if is_input:
                inputs |= columns
        assert shown == policy_for(model).visible_columns(reader, row), (name, model.__name__)
        assert inputs <= declared.writable_by(operator=reader.is_superuser), (name, model.__name__, inputs)
        for inline in change.context["inline_admin_formsets"]:
            inline_admin = inline.opts
            allowed_inline = list_columns(reader, inline_admin.model)
            for field in inline.fields():
                assert columns_of(inline_admin, field["name"]) <= allowed_inline, (name, field["name"])


@pytest.mark.parametrize("model", walked_models(), ids=lambda m: m._meta.db_table)
def test_admin_add_forms_offer_only_writable_columns(world, model):
    model_admin = admin.site._registry[model]
    declared = policy_for(model).columns
    for name in ("owner", "superuser"):
        reader = world[name]
        response = client_for(reader).get(url(model, "add"))
        if response.status_code == 403:
            assert declared.ingested or not model_admin.adds_rows or (
                not reader.is_superuser and not model_admin.staff_can_add), model.__name__
            continue
        assert response.status_code == 200, (name, model.__name__)
        form_inputs = type(response.context["adminform"].form).declared_fields
        for field_name, is_input in form_names(response):
            if field_name in form_inputs and field_name not in {f.name for f in model._meta.fields}:
                continue  # a form-only input (password1), no column
            columns = columns_of(model_admin, field_name)
            assert not columns & declared.never, (name, field_name)
            if is_input:
                assert columns <= declared.writable_by(operator=reader.is_superuser), (name, model.__name__, field_name)
