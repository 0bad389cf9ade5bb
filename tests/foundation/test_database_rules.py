"""PostgreSQL enforces the seed's rules itself: CHECKs, database defaults, `updated_at`."""

from __future__ import annotations

import json
import uuid

import pytest
from django.db import IntegrityError, connection, transaction

from accounts.models import Team, User
from agents.models import Agent
from tests import factories
from tests.foundation.schema_spec import ENUMERATIONS
from workflows.models import Workflow

pytestmark = pytest.mark.django_db


def sql(statement, params=()):
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchall() if cursor.description else None


# --- CHECK constraints ----------------------------------------------------------------------

def _row_for(table):
    """A saved row of `table` and its primary key, to update a column to a bad value."""
    makers = {
        "users": factories.UserFactory, "teams": factories.TeamFactory, "user_roles": factories.UserRoleFactory,
        "agents": factories.AgentFactory, "agent_templates": factories.AgentTemplateFactory,
        "deployments": factories.DeploymentFactory, "workflows": factories.WorkflowFactory,
        "workflow_executions": factories.WorkflowExecutionFactory, "notifications": factories.NotificationFactory,
        "agent_thoughts": factories.AgentThoughtFactory, "agent_metrics": factories.AgentMetricFactory,
    }
    return makers[table]()


@pytest.mark.parametrize("table,column", sorted(ENUMERATIONS))
def test_raw_sql_with_a_bad_enumeration_value_is_rejected(table, column):
    row = _row_for(table)
    with pytest.raises(IntegrityError, match=f"{table}_{column}_valid"), transaction.atomic():
        sql(f"UPDATE {table} SET {column} = %s WHERE id = %s", ["not-a-choice", row.pk])


@pytest.mark.parametrize("table,column", sorted(ENUMERATIONS))
def test_orm_save_with_a_bad_enumeration_value_is_rejected(table, column):
    row = _row_for(table)
    field = next(f for f in type(row)._meta.concrete_fields if f.column == column)
    setattr(row, field.attname, "not-a-choice")
    with pytest.raises(IntegrityError, match=f"{table}_{column}_valid"), transaction.atomic():
        row.save()


def test_confidence_score_outside_zero_to_one_is_rejected():
    thought = factories.AgentThoughtFactory()
    with pytest.raises(IntegrityError, match="confidence_score_range"), transaction.atomic():
        sql("UPDATE agent_thoughts SET confidence_score = 1.5 WHERE id = %s", [thought.pk])


# --- database defaults on plain SQL INSERTs ---------------------------------------------------

JSON_COLUMNS = {"config", "deployment_config", "trigger_config", "data", "metadata", "default_config"}


def insert(table, values: dict) -> dict:
    """INSERT only `values` by plain SQL and return the whole row as a dict."""
    columns = ", ".join(values)
    marks = ", ".join(["%s"] * len(values))
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {table} ({columns}) VALUES ({marks}) RETURNING *", list(values.values()))
        names = [c.name for c in cursor.description]
        row = dict(zip(names, cursor.fetchone()))
    # Django's connection hands jsonb back as text (JSONField decodes it itself).
    return {k: json.loads(v) if k in JSON_COLUMNS and isinstance(v, str) else v for k, v in row.items()}


def assert_fresh(row, *columns):
    for column in columns:
        assert row[column] is not None, column
    assert isinstance(row["id"], uuid.UUID)


def test_defaults_users():
    row = insert("users", {"email": "sql@example.com"})
    assert_fresh(row, "created_at", "updated_at")
    assert (row["subscription_tier"], row["password"], row["is_active"], row["is_staff"], row["is_superuser"]) == (
        "free", "!", True, False, False)
    user = User.objects.get(pk=row["id"])
    assert not user.has_usable_password()


def test_defaults_teams_and_user_roles():
    team = insert("teams", {"name": "SQL team", "slug": "sql-team"})
    assert_fresh(team, "created_at", "updated_at")
    assert team["plan"] == "starter"
    role = insert("user_roles", {"role": "viewer", "team_id": team["id"]})
    assert_fresh(role, "granted_at")


def test_defaults_agents_and_templates():
    agent = insert("agents", {"name": "SQL agent", "type": "market"})
    assert_fresh(agent, "created_at", "updated_at")
    assert (agent["status"], agent["config"], agent["deployment_config"]) == ("inactive", {}, {})
    template = insert("agent_templates", {"name": "T", "type": "media", "default_config": "{}"})
    assert_fresh(template, "created_at")
    assert template["is_public"] is False


def test_defaults_deployments_workflows_executions():
    agent = factories.AgentFactory()
    deployment = insert("deployments", {"agent_id": agent.pk})
    assert_fresh(deployment, "created_at")
    assert (deployment["version"], deployment["status"], deployment["trigger_config"]) == (1, "pending", {})
    workflow = insert("workflows", {"agent_id": agent.pk, "name": "W"})
    assert_fresh(workflow, "created_at", "updated_at")
    assert (workflow["status"], workflow["trigger_config"], workflow["execution_count"],
            workflow["success_count"], workflow["error_count"]) == ("inactive", {}, 0, 0, 0)
    execution = insert("workflow_executions", {"workflow_id": workflow["id"]})
    assert_fresh(execution, "started_at")


def test_defaults_notifications_thoughts_metrics_usage():
    user = factories.UserFactory()
    agent = factories.AgentFactory(created_by=user)
    note = insert("notifications", {"user_id": user.pk, "type": "system", "title": "t", "message": "m"})
    assert_fresh(note, "created_at")
    assert (note["priority"], note["data"]) == ("medium", {})
    thought = insert("agent_thoughts", {"agent_id": agent.pk, "node_id": "n", "node_type": "input", "content": "c"})
    assert_fresh(thought, "created_at")
    assert thought["metadata"] == {}
    metric = insert("agent_metrics", {"agent_id": agent.pk, "metric_type": "cost", "value": 1})
    assert_fresh(metric, "recorded_at")
    assert metric["metadata"] == {}
    usage = insert("api_usage", {"user_id": user.pk, "endpoint": "/x", "method": "GET", "status_code": 200})
    assert_fresh(usage, "created_at")


# --- updated_at -------------------------------------------------------------------------------

UPDATED_AT_MODELS = [
    (User, factories.UserFactory, "full_name"),
    (Team, factories.TeamFactory, "name"),
    (Agent, factories.AgentFactory, "name"),
    (Workflow, factories.WorkflowFactory, "name"),
]


def _stale(model, row):
    """Push updated_at an hour back by SQL (the trigger keeps an explicitly set value)."""
    sql(f"UPDATE {model._meta.db_table} SET updated_at = now() - interval '1 hour' WHERE id = %s", [row.pk])
    return model.objects.values_list("updated_at", flat=True).get(pk=row.pk)


def _current(model, row, stale):
    now = sql("SELECT now()")[0][0]
    value = model.objects.values_list("updated_at", flat=True).get(pk=row.pk)
    assert value > stale
    assert abs((now - value).total_seconds()) < 60


@pytest.mark.parametrize("model,factory,field", UPDATED_AT_MODELS, ids=lambda v: getattr(v, "__name__", v))
def test_updated_at_after_save(model, factory, field):
    row = factory()
    stale = _stale(model, row)
    row = model.objects.get(pk=row.pk)
    setattr(row, field, "changed by save")
    row.save()
    _current(model, row, stale)


@pytest.mark.parametrize("model,factory,field", UPDATED_AT_MODELS, ids=lambda v: getattr(v, "__name__", v))
def test_updated_at_after_queryset_update(model, factory, field):
    row = factory()
    stale = _stale(model, row)
    model.objects.filter(pk=row.pk).update(**{field: "changed by update"})
    _current(model, row, stale)


@pytest.mark.parametrize("model,factory,field", UPDATED_AT_MODELS, ids=lambda v: getattr(v, "__name__", v))
def test_updated_at_after_bulk_update(model, factory, field):
    row = factory()
    stale = _stale(model, row)
    row = model.objects.get(pk=row.pk)
    setattr(row, field, "changed by bulk_update")
    model.objects.bulk_update([row], [field])
    _current(model, row, stale)


@pytest.mark.parametrize("model,factory,field", UPDATED_AT_MODELS, ids=lambda v: getattr(v, "__name__", v))
def test_updated_at_after_raw_sql_update_by_the_trigger(model, factory, field):
    row = factory()
    stale = _stale(model, row)
    sql(f"UPDATE {model._meta.db_table} SET {field} = 'changed by SQL' WHERE id = %s", [row.pk])
    _current(model, row, stale)


def test_trigger_keeps_a_value_set_by_the_writer():
    agent = factories.AgentFactory()
    sql("UPDATE agents SET updated_at = '2001-01-01T00:00:00Z', name = 'x' WHERE id = %s", [agent.pk])
    assert Agent.objects.values_list("updated_at", flat=True).get(pk=agent.pk).year == 2001
