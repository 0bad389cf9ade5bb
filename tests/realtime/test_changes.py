"""The change payload: PostgreSQL column types, JSON-typed values, bounded publisher queries."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from monitoring.models import AgentMetric
from notifications.models import AgentThought
from realtime.changes import change_data, columns_of, commit_timestamp, normalized_record, record_of
from notifications.services import notifications_mark_read
from tests import factories


@pytest.mark.django_db
def test_values_are_json_types_and_columns_have_postgres_types():
    metric = factories.AgentMetricFactory(metadata={"source": "n8n", "n": [1, 2]})
    record = record_of(metric)
    assert record["value"] == 123.45 and isinstance(record["value"], float)
    assert record["metadata"] == {"source": "n8n", "n": [1, 2]}
    assert record["agent_id"] == str(metric.agent_id) and isinstance(record["recorded_at"], str)
    types = {c["name"]: c["type"] for c in columns_of(AgentMetric)}
    assert types == {"id": "uuid", "agent_id": "uuid", "metric_type": "varchar", "value": "numeric",
                     "unit": "varchar", "metadata": "jsonb", "recorded_at": "timestamptz"}
    thought_types = {c["name"]: c["type"] for c in columns_of(AgentThought)}
    assert thought_types["processing_time_ms"] == "int4" and thought_types["content"] == "text"
    template_types = {c["name"]: c["type"] for c in columns_of(factories.AgentTemplateFactory._meta.model)}
    assert template_types["is_public"] == "bool"


def test_change_data_has_the_keys_of_its_type():
    insert = change_data(AgentMetric, "INSERT", record={"id": "x"}, old_record=None)
    delete = change_data(AgentMetric, "DELETE", record=None, old_record={"id": "x"})
    update = change_data(AgentMetric, "UPDATE", record={"id": "x"}, old_record={"id": "x"})
    assert "old_record" not in insert and "record" not in delete
    assert {"record", "old_record"} <= set(update)
    assert insert["schema"] == "public" and insert["table"] == "agent_metrics" and insert["errors"] is None


def test_commit_timestamp_format():
    import datetime

    moment = datetime.datetime(2026, 11, 25, 1, 59, 24, 33999, tzinfo=datetime.UTC)
    assert commit_timestamp(moment) == "2026-11-25T01:59:24.033Z"


@pytest.mark.django_db
@pytest.mark.parametrize("rows", [2, 8])
def test_a_relay_batch_costs_the_same_queries_whatever_the_row_count(rows, relay, django_capture_on_commit_callbacks):
    user = factories.UserFactory()
    for _ in range(rows):
        factories.NotificationFactory(user=user)
    relay()  # the INSERTs
    assert notifications_mark_read(user=user) == rows  # one UPDATE statement: one captured entry
    with django_capture_on_commit_callbacks() as callbacks, CaptureQueriesContext(connection) as ctx:
        assert relay() == rows
    assert len(callbacks) == 1  # one bus message for the batch, sent on commit
    # state row (upsert, lock), take the pending rows, positions, the state (the log is a COPY,
    # which the capture does not list); no empty batch after it (it took fewer rows than it
    # could: nothing was left) and no query per row (notifications' audience is the user)
    assert len([q for q in ctx.captured_queries if "SAVEPOINT" not in q["sql"]]) == 5, ctx.captured_queries


@pytest.mark.parametrize("value", [
    "2026-11-01T00:00:00+00:00", "2026-11-01T00:00:00.5+00:00", "2026-11-01T00:00:00.123456+00:00",
    "2026-11-01T02:00:00.12+02:00", "2026-10-31T19:30:00.000001-04:30",
])
def test_a_captured_timestamp_reads_as_isoformat_in_utc(value):
    """The fast path for UTC values (no parsing) gives what parsing gives."""
    record = normalized_record(AgentMetric, {"recorded_at": value})
    assert record["recorded_at"] == datetime.datetime.fromisoformat(value).astimezone(datetime.UTC).isoformat()
