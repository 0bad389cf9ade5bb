"""Date-times that PostgreSQL accepts.

Python accepts UTC offsets up to ±23:59, PostgreSQL only up to ±15:59: a value such as
`2026-11-25T10:00:00+20:07` reached the database as written and failed there (a 500 in the
API filters and the n8n callback; found by the fuzzers in tests/hardening). Moved to UTC,
every instant in Python's range is valid for PostgreSQL.
"""

from __future__ import annotations

from datetime import datetime, timezone


def iso_utc(value: datetime) -> str:
    """The API's one timestamp format for a value stored inside JSON (metadata, notification
    data, trigger_config): ISO 8601 in UTC ending in `Z`, as DRF renders every datetime the API
    answers (views hand DRF datetimes, never pre-formatted strings, so nested objects agree)."""
    return in_utc(value).isoformat().replace("+00:00", "Z")


def in_utc(value: datetime) -> datetime:
    """An aware datetime moved to UTC (a naive one is returned as is); ValueError when the
    move leaves Python's years 1-9999."""
    if value.tzinfo is None:
        return value
    try:
        return value.astimezone(timezone.utc)
    except OverflowError:
        raise ValueError("out of the supported range of dates") from None
