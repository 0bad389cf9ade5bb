"""`manage.py record_agent_metrics` / `agent_metrics_record_derived`: success_rate and
response_time per agent from the executions of a window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command

from monitoring.models import AgentMetric
from monitoring.services import agent_metrics_record_derived
from tests import factories

pytestmark = pytest.mark.django_db
UNTIL = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def execution(workflow, status, ms, minutes_ago):
    return factories.WorkflowExecutionFactory(
        workflow=workflow, status=status, execution_time_ms=ms, started_at=UNTIL - timedelta(minutes=minutes_ago)
    )


def metrics_of(agent):
    return {m.metric_type: (m.value, m.unit) for m in AgentMetric.objects.filter(agent=agent)}


def test_success_rate_and_response_time_from_the_window():
    busy, idle, waiting = factories.AgentFactory(), factories.AgentFactory(), factories.AgentFactory()
    flow_a, flow_b = factories.WorkflowFactory(agent=busy), factories.WorkflowFactory(agent=busy)
    execution(flow_a, "success", 100, 5)
    execution(flow_a, "success", 200, 10)
    execution(flow_b, "success", None, 20)  # no timing: counts for success, not for time
    execution(flow_b, "error", 400, 30)
    execution(flow_b, "running", 9999, 1)  # unfinished: ignored
    execution(flow_a, "error", 50, 90)  # before the window
    execution(flow_a, "error", 50, -1)  # after the window
    execution(factories.WorkflowFactory(agent=idle), "error", 50, 120)
    execution(factories.WorkflowFactory(agent=waiting), "waiting", None, 3)

    created = agent_metrics_record_derived(since=UNTIL - timedelta(hours=1), until=UNTIL)

    assert metrics_of(busy) == {
        "success_rate": (Decimal("75.0000"), "percent"),
        "response_time": (Decimal("233.3333"), "ms"),
    }
    assert metrics_of(idle) == {} and metrics_of(waiting) == {}
    assert len(created) == 2
    recorded = AgentMetric.objects.get(agent=busy, metric_type="success_rate")
    assert recorded.recorded_at == UNTIL
    assert recorded.metadata["executions"] == 4


def test_the_command_records_for_the_agents_asked():
    first, second = factories.AgentFactory(), factories.AgentFactory()
    for agent in (first, second):
        execution(factories.WorkflowFactory(agent=agent), "success", 10, 5)
    out = StringIO()
    call_command("record_agent_metrics", "--minutes", "30", "--until", UNTIL.isoformat(),
                 "--agent", str(first.pk), stdout=out)
    assert "Recorded 2 metrics for 1 agents" in out.getvalue()
    assert metrics_of(first) == {"success_rate": (Decimal("100.0000"), "percent"),
                                 "response_time": (Decimal("10.0000"), "ms")}
    assert metrics_of(second) == {}


def test_very_long_executions_are_capped_to_the_column_range():
    agent = factories.AgentFactory()
    execution(factories.WorkflowFactory(agent=agent), "success", 2_000_000_000, 5)
    agent_metrics_record_derived(since=UNTIL - timedelta(hours=1), until=UNTIL)
    metric = AgentMetric.objects.get(agent=agent, metric_type="response_time")
    assert metric.value == Decimal("999999.9999") and metric.metadata["capped"] is True
