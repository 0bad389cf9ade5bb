"""The migrated schema, read from PostgreSQL's catalogs, against the seed (issue 2).

`schema_spec` holds the expectation as a literal; the first test checks that literal against
the seed document itself, the others check PostgreSQL against the literal.
"""

from __future__ import annotations

import re

import pytest
from django.db import connection

from accounts.models import Role, SubscriptionTier, TeamPlan
from agents.models import AgentStatus, AgentType
from monitoring.models import MetricType, MetricUnit
from notifications.models import NodeType, NotificationType, Priority
from tests.foundation import schema_spec as spec
from workflows.models import DeploymentStatus, ExecutionStatus, TriggerType, WorkflowStatus

pytestmark = pytest.mark.django_db

ON_DELETE = {"c": "CASCADE", "n": "SET NULL", "a": "NO ACTION", "r": "RESTRICT", "d": "SET DEFAULT"}


def rows(sql, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def seed_type(data_type, length, precision, scale) -> str:
    simple = {"uuid": "UUID", "text": "TEXT", "jsonb": "JSONB", "timestamp with time zone": "TIMESTAMPTZ",
              "integer": "INTEGER", "boolean": "BOOLEAN"}
    if data_type == "character varying":
        return f"VARCHAR({length})"
    if data_type == "numeric":
        return f"DECIMAL({precision},{scale})"
    return simple.get(data_type, data_type)


def db_columns(table):
    return {
        name: (seed_type(data_type, length, precision, scale), nullable == "YES",
               default.replace("::character varying", "") if default is not None else None)
        for name, data_type, length, precision, scale, nullable, default in rows(
            "SELECT column_name, data_type, character_maximum_length, numeric_precision, numeric_scale, "
            "is_nullable, column_default FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = %s", [table])
    }


def test_literal_expectation_matches_the_seed_document():
    try:
        path = spec.seed_file()
    except FileNotFoundError as missing:
        pytest.fail(str(missing))
    tables, fks, indexes = spec.parse_seed(path.read_text(encoding="utf-8"))
    assert set(tables) == set(spec.SEED_COLUMNS)
    for table, columns in tables.items():
        assert columns == spec.SEED_COLUMNS[table], table
    assert set(fks) == set(spec.FOREIGN_KEYS)
    for key, (target, action) in fks.items():
        expected_target, expected_action, origin = spec.FOREIGN_KEYS[key]
        assert target == expected_target, key
        assert action == (expected_action if origin == "seed" else None), key
    assert indexes == spec.SEED_INDEXES


def test_every_seed_table_and_column_with_type_nullability_and_default():
    for table, seed_columns in spec.SEED_COLUMNS.items():
        expected = {**seed_columns, **spec.EXTRA_COLUMNS.get(table, {})}
        for (dev_table, column), value in spec.COLUMN_DEVIATIONS.items():
            if dev_table == table:
                expected[column] = value
        assert db_columns(table) == expected, table


def test_foreign_keys_have_the_seed_on_delete_actions():
    found = {
        (table, column): (target, ON_DELETE[action])
        for table, column, target, action in rows(
            "SELECT con.conrelid::regclass::text, att.attname, con.confrelid::regclass::text, con.confdeltype "
            "FROM pg_constraint con JOIN pg_attribute att "
            "ON att.attrelid = con.conrelid AND att.attnum = con.conkey[1] "
            "WHERE con.contype = 'f' AND con.conrelid::regclass::text = ANY(%s)", [list(spec.SEED_COLUMNS)])
    }
    assert found == {key: (target, action) for key, (target, action, _) in spec.FOREIGN_KEYS.items()}


def test_every_enumeration_is_a_check_constraint_matching_the_django_choices():
    choices = {
        ("users", "subscription_tier"): SubscriptionTier, ("teams", "plan"): TeamPlan,
        ("user_roles", "role"): Role, ("agents", "type"): AgentType, ("agents", "status"): AgentStatus,
        ("agent_templates", "type"): AgentType, ("deployments", "status"): DeploymentStatus,
        ("deployments", "trigger_type"): TriggerType, ("workflows", "status"): WorkflowStatus,
        ("workflow_executions", "status"): ExecutionStatus, ("notifications", "type"): NotificationType,
        ("notifications", "priority"): Priority, ("agent_thoughts", "node_type"): NodeType,
        ("agent_metrics", "metric_type"): MetricType, ("agent_metrics", "unit"): MetricUnit,
    }
    checks = {}
    for table, definition in rows(
        "SELECT conrelid::regclass::text, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE contype = 'c' AND conrelid::regclass::text = ANY(%s)", [list(spec.SEED_COLUMNS)]
    ):
        column = re.search(r"\(\(?(\w+)\)?::text = ANY", definition)
        if column:
            checks[(table, column.group(1))] = set(re.findall(r"'([^']+)'::character varying", definition))
    assert checks == spec.ENUMERATIONS
    for key, values in spec.ENUMERATIONS.items():
        assert set(choices[key].values) == values, key


def _normalize_where(where: str | None) -> str | None:
    if where is None:
        return None
    return re.sub(r"::[a-z ]+?(?=[)' ]|$)", "", where).replace("(", "").replace(")", "").strip()


def test_every_seed_index_exists_with_its_columns_and_condition():
    found = {}
    for name, table, definition in rows(
        "SELECT indexname, tablename, indexdef FROM pg_indexes WHERE schemaname = current_schema()"
    ):
        match = re.search(r"USING btree \((.*?)\)(?: WHERE (.*))?$", definition)
        found[name] = (table, match.group(1), _normalize_where(match.group(2)))
    missing = sorted(set(spec.SEED_INDEXES) - set(found))
    assert not missing, f"seed indexes missing: {missing}"
    for name, expected in spec.SEED_INDEXES.items():
        assert found[name] == expected, name


def test_extra_unique_constraints_exist():
    found = {
        name: (table, tuple(columns))
        for name, table, columns in rows(
            "SELECT con.conname, con.conrelid::regclass::text, "
            "ARRAY(SELECT attname FROM unnest(con.conkey) WITH ORDINALITY k(n, i) "
            "JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n ORDER BY k.i) "
            "FROM pg_constraint con WHERE con.contype = 'u'")
    }
    for name, expected in spec.EXTRA_UNIQUE.items():
        assert found.get(name) == expected, name


def test_updated_at_triggers_exist():
    triggers = {name for (name,) in rows("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")}
    for table in ("users", "teams", "agents", "workflows"):
        assert f"update_{table}_updated_at" in triggers


def test_a_missing_seed_document_is_reported_clearly(tmp_path, monkeypatch):
    monkeypatch.setattr(spec, "REPO_ROOT", tmp_path / "repo")
    monkeypatch.setenv("ECHELON_SEED_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(FileNotFoundError, match="set ECHELON_SEED_DIR"):
        spec.seed_file()
