"""Column filters: parsing against a table's column types and matching JSON-typed records."""

from __future__ import annotations

import pytest

from agents.models import Agent
from monitoring.models import AgentMetric
from realtime.changes import column_types
from realtime.filters import FilterError, parse_filter

UID = "11111111-2222-3333-4444-555555555555"


@pytest.mark.parametrize("text, record, expected", [
    (f"created_by=eq.{UID}", {"created_by": UID}, True),
    (f"created_by=eq.{UID.upper()}", {"created_by": UID}, True),
    (f"created_by=neq.{UID}", {"created_by": UID}, False),
    (f"created_by=eq.{UID}", {"created_by": None}, False),
    ("status=in.(active,paused)", {"status": "paused"}, True),
    ("status=in.(active,paused)", {"status": "error"}, False),
    ("updated_at=gt.2026-01-01T00:00:00Z", {"updated_at": "2026-06-01T10:00:00+00:00"}, True),
    ("updated_at=lte.2026-01-01T00:00:00+00:00", {"updated_at": "2026-06-01T10:00:00+00:00"}, False),
])
def test_agent_filters(text, record, expected):
    assert parse_filter(text, column_types(Agent)).matches(record) is expected


@pytest.mark.parametrize("text, record, expected", [
    ("value=gt.100", {"value": 123.45}, True),
    ("value=lt.100", {"value": 123.45}, False),
    ("value=gte.123.45", {"value": 123.45}, True),
    ("value=eq.2", {"value": 2}, True),
])
def test_numeric_filters_compare_as_numbers(text, record, expected):
    assert parse_filter(text, column_types(AgentMetric)).matches(record) is expected


@pytest.mark.parametrize("text, message", [
    ("status", "expected column=operator.value"),
    ("status=active", "expected column=operator.value"),
    ("bogus=eq.1", "unknown column 'bogus'"),
    ("status=ilike.a", "unknown operator 'ilike'"),
    ("status=in.()", "malformed in list"),
    ("status=in.(a,,b)", "empty value"),
    ("config=eq.{}", "cannot be filtered"),
    ("created_at=gt.yesterday", "not a valid timestamptz"),
])
def test_bad_filters_name_the_problem(text, message):
    with pytest.raises(FilterError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_filter(text, column_types(Agent))


def test_in_list_limit():
    ok = "status=in.(" + ",".join(f"s{i}" for i in range(100)) + ")"
    assert parse_filter(ok, column_types(Agent)).matches({"status": "s99"})
    with pytest.raises(FilterError, match="101 values, at most 100"):
        parse_filter("status=in.(" + ",".join(f"s{i}" for i in range(101)) + ")", column_types(Agent))
