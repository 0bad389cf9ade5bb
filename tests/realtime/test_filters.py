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
    ("status=regex.a", "unknown operator 'regex'"),
    ("status=not.not.eq.a", "unknown operator 'not'"),
    ("created_by=like.a%", "like needs a text column, not uuid"),
    ("status=is.maybe", "is takes null, true, false or unknown"),
    ("status=is.true", "is.true needs a boolean column"),
    ("name=match.(a", "bad regular expression (missing ): (a)"),
    ("name=match." + "a" * 1001, "pattern over 1000 characters"),
    ("status=eq.a," * 20 + "status=eq.b", "21 conditions, at most 20"),
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


@pytest.mark.parametrize("text, record, expected", [
    # several conditions, ANDed; a comma inside a value or an in list is the value's
    ("status=eq.active,name=like.A%", {"status": "active", "name": "Alpha"}, True),
    ("status=eq.active,name=like.A%", {"status": "active", "name": "Beta"}, False),
    ("status=in.(active,paused),name=eq.a,b", {"status": "paused", "name": "a,b"}, True),
    ("name=like.A_p%", {"name": "Alpha"}, True), ("name=like.a*", {"name": "Alpha"}, False),
    ("name=ilike.a*", {"name": "Alpha"}, True), ("name=like.%.%", {"name": "a.b"}, True),
    ("name=like.%.%", {"name": "ab"}, False), ("name=like.100\\%", {"name": "100%"}, True),
    ("name=like.100\\%", {"name": "1000"}, False),
    ("name=match.^Al", {"name": "Alpha"}, True), ("name=match.ph", {"name": "Alpha"}, True),
    ("name=match.^al", {"name": "Alpha"}, False), ("name=imatch.^al", {"name": "Alpha"}, True),
    ("name=match.(a+)+$", {"name": "a" * 10_000 + "!"}, False),  # linear time (RE2): no backtracking blow-up
    ("description=is.null", {"description": None}, True), ("description=is.null", {"description": "x"}, False),
    ("description=not.is.null", {"description": "x"}, True),
    ("name=isdistinct.Alpha", {"name": None}, True), ("name=isdistinct.Alpha", {"name": "Alpha"}, False),
    ("name=not.isdistinct.Alpha", {"name": "Alpha"}, True),
    ("status=not.eq.active", {"status": "paused"}, True), ("status=not.eq.active", {"status": "active"}, False),
    ("status=not.eq.active", {"status": None}, False),  # SQL: NOT (NULL = x) is unknown
    ("status=not.in.(active,paused)", {"status": "error"}, True),
    ("name=not.like.A%", {"name": "Beta"}, True), ("name=not.like.A%", {"name": None}, False),
])
def test_operators_of_2026(text, record, expected):
    assert parse_filter(text, column_types(Agent)).matches(record) is expected


def test_is_true_and_false_on_a_boolean_column():
    from agents.models import AgentTemplate

    types = column_types(AgentTemplate)
    assert parse_filter("is_public=is.true", types).matches({"is_public": True})
    assert not parse_filter("is_public=is.false", types).matches({"is_public": True})
    assert parse_filter("is_public=not.is.true", types).matches({"is_public": None})
