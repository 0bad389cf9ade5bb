"""Date-times from clients, as PostgreSQL accepts them: the one parser (`parse_aware`).

Python accepts UTC offsets up to ±23:59, PostgreSQL only up to ±15:59: a value such as
`2026-11-25T10:00:00+20:07` reached the database as written and failed there (a 500 in the
API filters and the n8n callback; found by the fuzzers in tests/hardening). Moved to UTC,
every instant in Python's range is valid for PostgreSQL.
"""

from __future__ import annotations

from datetime import datetime, timezone

NOT_ISO = "must be an ISO 8601 date-time"
NO_OFFSET = "must include a time zone"


class DateTimeInputError(ValueError):
    """`value` is no usable date-time; the message says why (prefixed by the caller's name)."""


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


def parse_aware(value, *, require_offset: bool = True) -> datetime:
    """An ISO 8601 date-time string as an aware datetime in UTC (every caller that reads a
    date-time from a client: filters, the n8n callback, run_at, bulk metrics, commands).

    Raises DateTimeInputError with NOT_ISO (not a string, or unreadable), NO_OFFSET (a bare
    local time is ambiguous) or the range problem. `require_offset=False` (n8n's own payloads)
    returns a naive value as it is."""
    if not isinstance(value, str):
        raise DateTimeInputError(NOT_ISO)
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise DateTimeInputError(NOT_ISO) from None
    if parsed.tzinfo is None:
        if require_offset:
            raise DateTimeInputError(NO_OFFSET)
        return parsed
    try:
        return in_utc(parsed)
    except ValueError as exc:
        raise DateTimeInputError(f"is {exc}") from None
