"""Fast validation of agent-metric rows for bulk ingestion (up to 10,000 per request).

Hand-written instead of a DRF serializer per row (which costs ~100 µs a row): each row is
checked with plain type tests, and the clean row is already the tuple that COPY writes.

Rules (the errors name the row index and the field):
- keys: agent_id, metric_type, value (required); unit, metadata, recorded_at (optional);
  any other key is an error (a typo would otherwise be silently ignored);
- agent_id: a UUID in its 36-character form; the agent must be writable by the caller
  (checked for the whole set of ids with one query, by the service);
- metric_type / unit: one of MetricType / MetricUnit (unit may be null);
- value: a JSON number (or numeric string) with |value| < 10^6 and at most 4 decimals, the
  range of DECIMAL(10,4). More decimals are rejected, not rounded: silently changing a
  measurement is worse than asking the client to round;
- metadata: a JSON object (default {});
- recorded_at: an ISO 8601 datetime with a time zone (default: now); a naive time is rejected
  because its zone would be a guess.
"""

from __future__ import annotations

import gc
import math
import re
from contextlib import contextmanager
from decimal import Decimal, InvalidOperation

import orjson
from django.utils import timezone

from echelon.dates import DateTimeInputError, parse_aware
from echelon.jsonvalues import unstorable_message, unstorable_path
from monitoring.models import MetricType, MetricUnit

MAX_ROWS = 10_000
COPY_COLUMNS = ("agent_id", "metric_type", "value", "unit", "metadata", "recorded_at")
ALLOWED_KEYS = frozenset(COPY_COLUMNS)
METRIC_TYPES = frozenset(MetricType.values)
UNITS = frozenset(MetricUnit.values)
VALUE_BOUND = 10**6
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_EMPTY_OBJECT = "{}"


@contextmanager
def gc_paused():
    """Pause the cyclic garbage collector around one bounded bulk operation.

    Building 10,000 row tuples triggers collections that also walk the whole Django heap (a
    bulk request measured 23 ms validating with the collector paused, up to 90 ms with it
    running). The section is short and its memory bounded by MAX_ROWS; reference counting
    still frees everything as usual.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _value_error(value) -> str | None:
    """None when `value` fits DECIMAL(10,4) exactly, else the reason."""
    if type(value) is int:
        return None if -VALUE_BOUND < value < VALUE_BOUND else "must be between -999999.9999 and 999999.9999"
    if type(value) is float:
        if not math.isfinite(value):
            return "must be a finite number"
        text = repr(value)
    elif type(value) is str:
        text = value.strip()
    else:
        return "must be a number"
    try:
        number = Decimal(text)
    except InvalidOperation:
        return "must be a number"
    if not number.is_finite():
        return "must be a finite number"
    if not -VALUE_BOUND < number < VALUE_BOUND:
        return "must be between -999999.9999 and 999999.9999"
    if number.as_tuple().exponent < -4 and number != number.quantize(Decimal("0.0001")):
        return "must have at most 4 decimal places"
    return None


def validate_rows(rows) -> tuple[list[tuple], list[int], list[dict]]:
    """Check every row; return (COPY tuples, their row indexes, errors).

    Agent ids come back lower-cased as the first item of each tuple, for the writability check.
    """
    errors: list[dict] = []
    clean: list[tuple] = []
    indexes: list[int] = []
    now = None
    uuid_match = _UUID.fullmatch
    dumps = orjson.dumps
    for index, row in enumerate(rows):
        if type(row) is not dict:
            errors.append({"index": index, "field": None, "message": "row must be a JSON object"})
            continue
        bad = len(errors)
        if not ALLOWED_KEYS.issuperset(row):
            unknown = ", ".join(sorted(str(k) for k in row if k not in ALLOWED_KEYS))
            errors.append({"index": index, "field": None, "message": f"unknown field(s): {unknown}"})

        agent_id = row.get("agent_id")
        if type(agent_id) is not str or not uuid_match(agent_id):
            errors.append({"index": index, "field": "agent_id", "message": "must be a UUID"})

        metric_type = row.get("metric_type")
        if metric_type not in METRIC_TYPES:
            errors.append({"index": index, "field": "metric_type",
                           "message": f"must be one of {', '.join(MetricType.values)}"})

        unit = row.get("unit")
        if unit is not None and unit not in UNITS:
            errors.append({"index": index, "field": "unit",
                           "message": f"must be null or one of {', '.join(MetricUnit.values)}"})

        value = row.get("value")
        kind = type(value)
        if kind is float and -VALUE_BOUND < value < VALUE_BOUND:
            # Fast path: a float's shortest repr tells its decimals ("12.5" → 1); "e" → exact check.
            text = repr(value)
            if "e" in text or len(text) - text.index(".") > 5:
                problem = _value_error(value)
                if problem:
                    errors.append({"index": index, "field": "value", "message": problem})
        elif kind is not int or not -VALUE_BOUND < value < VALUE_BOUND:
            problem = "is required" if value is None else _value_error(value)
            if problem:
                errors.append({"index": index, "field": "value", "message": problem})
            elif type(value) is str:
                value = value.strip()

        metadata = row.get("metadata")
        if metadata is None or metadata == {}:
            metadata = _EMPTY_OBJECT
        elif type(metadata) is dict:
            if unstorable_path(metadata) is not None:  # NUL / deep nesting: COPY failed, a 500
                errors.append({"index": index, "field": "metadata", "message": unstorable_message("metadata")})
            metadata = dumps(metadata).decode()
        else:
            errors.append({"index": index, "field": "metadata", "message": "must be a JSON object"})

        recorded_at = row.get("recorded_at")
        if recorded_at is None:
            recorded_at = now = now or timezone.now()
        else:
            try:
                recorded_at = parse_aware(recorded_at)  # in UTC: offsets beyond ±15:59 failed in COPY
            except DateTimeInputError as exc:
                errors.append({"index": index, "field": "recorded_at", "message": str(exc)})

        if len(errors) == bad:
            clean.append((agent_id.lower(), metric_type, value, unit, metadata, recorded_at))
            indexes.append(index)
    return clean, indexes, errors
