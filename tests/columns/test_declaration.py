"""The column declaration itself (echelon.columns): every model has one, it is plain data, and it
says what issue 12 asks (secrets and the hash never shown, a teammate sees a public profile,
owner and audit fields are the server's)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.apps import apps
from django.core.exceptions import ImproperlyConfigured

from accounts.models import User
from echelon.columns import MEMBER, OPERATOR, SELF, Columns
from echelon.policy import RowPolicy, column_declarations, policy_for, register, registered_models
from tests.columns.support import ROW_MAKERS

SNAPSHOT = Path(__file__).with_name("declarations.json")
OUR_APPS = ("accounts", "agents", "workflows", "notifications", "monitoring")


def test_every_model_of_our_apps_has_a_policy_with_a_column_declaration():
    for model in apps.get_models():
        if model._meta.app_label in OUR_APPS:
            declared = policy_for(model).columns  # LookupError: no policy at all
            assert isinstance(declared, Columns) and declared.table == model._meta.db_table, model


def test_every_registered_model_has_a_row_maker():
    """The walk (test_rest, test_realtime, test_admin) covers every registered model."""
    missing = [m.__name__ for m in registered_models() if m not in ROW_MAKERS]
    assert missing == [], f"add a row maker to tests/columns/conftest.py for {missing}"


def test_every_concrete_column_is_classified():
    for model in registered_models():
        declared = policy_for(model).columns
        columns = {f.column for f in model._meta.concrete_fields}
        shown = frozenset().union(*declared.shown.values())
        assert shown | declared.never == columns, model
        assert not shown & declared.never, model
        assert declared.visible(OPERATOR) == columns - declared.never, model  # operators see all but `never`


def test_the_declaration_matches_its_reviewed_record():
    """A new column is shown to readers unless declared `never` (`ALL` expands to it): so the
    whole declaration is recorded in declarations.json, and a new or moved column fails here
    until someone has decided who may see it and updated the record."""
    recorded = json.loads(SNAPSHOT.read_text())
    current = column_declarations()
    changed = {t: current.get(t) for t in set(current) | set(recorded) if current.get(t) != recorded.get(t)}
    assert not changed, (
        f"column declarations differ from {SNAPSHOT.name}; review who may see and write them, then record "
        f"them: {json.dumps(changed, indent=1)}")


def test_the_declaration_is_plain_json_data_for_code_generators():
    declarations = json.loads(json.dumps(column_declarations()))
    assert set(declarations) == {m._meta.db_table for m in registered_models()}
    users = declarations["users"]
    assert users["never"] == ["password"]
    assert users["shown"]["member"] == ["id", "email", "full_name", "avatar_url"]
    assert declarations["workflows"]["never"] == ["webhook_secret"]


def test_what_issue_12_asks_of_the_declaration():
    users = policy_for(User).columns
    assert users.visible(MEMBER) == {"id", "email", "full_name", "avatar_url"}
    assert {"subscription_tier", "created_at", "updated_at"} <= users.visible(SELF)
    for hidden in ("password", "last_login", "is_active"):
        assert hidden not in users.visible(SELF) | users.visible(MEMBER)
    assert "password" not in users.visible(OPERATOR)
    by_table = {m._meta.db_table: policy_for(m).columns for m in registered_models()}
    assert "webhook_secret" in by_table["workflows"].never
    for table, column in (("agents", "created_by"), ("agent_templates", "created_by"), ("teams", "created_by"),
                          ("user_roles", "granted_by"), ("users", "subscription_tier"), ("users", "is_staff"),
                          ("workflows", "execution_count"), ("deployments", "status")):
        assert column not in by_table[table].writable, (table, column)


def test_a_declaration_that_does_not_fit_its_model_fails_at_registration():
    bad = [
        Columns(never={"no_such_column"}),
        Columns(shown={SELF: {"id", "no_such_column"}}),
        Columns(never={"password"}, shown={SELF: {"password"}}),
        Columns(never={"password"}, writable={"password"}),
    ]
    for columns in bad:
        with pytest.raises(ImproperlyConfigured):
            register(type("BadPolicy", (RowPolicy,), {"model": User, "columns": columns}))
    undeclared = type("UndeclaredPolicy", (RowPolicy,), {"model": User})
    with pytest.raises(ImproperlyConfigured, match="declares no `columns`"):
        register(undeclared)
    assert type(policy_for(User)).__name__ == "UserPolicy"  # the registry is untouched
