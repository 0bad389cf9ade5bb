"""Big changelists cost the same number of queries at any size, and never COUNT(*) the table."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from agents.models import Agent
from echelon import admin as echelon_admin
from monitoring.models import AgentMetric, ApiUsage
from notifications.models import AgentThought
from tests import factories
from workflows.models import WorkflowExecution

pytestmark = pytest.mark.django_db


def add_rows(model, n):
    """n rows of `model`, each with its own related rows (so N+1 on relations would show)."""
    if model is Agent:
        factories.AgentFactory.create_batch(n, team=factories.TeamFactory())
    elif model is WorkflowExecution:
        factories.WorkflowExecutionFactory.create_batch(n)
    elif model is AgentThought:
        factories.AgentThoughtFactory.create_batch(n)
    elif model is AgentMetric:
        factories.AgentMetricFactory.create_batch(n)
    elif model is ApiUsage:
        factories.ApiUsageFactory.create_batch(n, agent=factories.AgentFactory())


def changelist_queries(client, model, **params):
    path = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path, params)
    assert response.status_code == 200
    return captured


@pytest.fixture
def admin_client(superuser):
    client = Client()
    client.force_login(superuser)
    return client


@pytest.mark.parametrize("model", [Agent, WorkflowExecution, AgentThought, AgentMetric, ApiUsage],
                         ids=lambda m: m.__name__)
def test_changelist_query_count_does_not_grow_with_rows(admin_client, model):
    add_rows(model, 3)
    few = len(changelist_queries(admin_client, model))
    add_rows(model, 30)
    many = len(changelist_queries(admin_client, model))
    assert many == few, f"{model.__name__}: {few} queries with 3 rows, {many} with 33"


@pytest.mark.parametrize("model", [WorkflowExecution, AgentThought, AgentMetric, ApiUsage],
                         ids=lambda m: m.__name__)
def test_unfiltered_big_lists_use_the_planner_estimate_not_count(admin_client, model, monkeypatch):
    add_rows(model, 12)
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {table}")
    monkeypatch.setattr(echelon_admin, "ESTIMATE_COUNT_ABOVE", 10)
    captured = changelist_queries(admin_client, model)
    sqls = [q["sql"] for q in captured.captured_queries]
    assert not [s for s in sqls if "COUNT(" in s.upper() and f'"{table}"' in s], sqls
    assert any("reltuples" in s for s in sqls)
    # A filtered list is counted exactly.
    filtered = changelist_queries(admin_client, model, q="00000000-0000-0000-0000-000000000000")
    assert any("COUNT(" in q["sql"].upper() for q in filtered.captured_queries)
