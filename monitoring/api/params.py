"""Query-parameter parsing for the monitoring endpoints: a bad value is a 400 naming it."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from django.utils import timezone
from rest_framework.exceptions import ValidationError

from echelon.dates import DateTimeInputError, parse_aware

MAX_BUCKETS = 10_000
BUCKET_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
DEFAULT_SPAN = {"minute": timedelta(hours=1), "hour": timedelta(days=1), "day": timedelta(days=30)}


def bad(param: str, message: str) -> ValidationError:
    return ValidationError({param: [message]})


def choice(params, name: str, choices, *, default=None) -> str:
    value = params.get(name, default)
    if value is None:
        raise bad(name, "is required")
    if value not in choices:
        raise bad(name, f"must be one of {', '.join(choices)}")
    return value


def optional_uuid(params, name: str):
    value = params.get(name)
    if value in (None, ""):
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        raise bad(name, "must be a UUID") from None


def _datetime(params, name: str):
    value = params.get(name)
    if value in (None, ""):
        return None
    try:
        return parse_aware(value.replace(" ", "+"))  # a "+" in a query string arrives as " "
    except DateTimeInputError as exc:
        raise bad(name, str(exc)) from None


def window(params, bucket: str) -> tuple[datetime, datetime]:
    """[from, to) from the query; defaults: to = now, from = to − (1 h | 1 day | 30 days)."""
    until = _datetime(params, "to") or timezone.now()
    since = _datetime(params, "from") or until - DEFAULT_SPAN[bucket]
    if since >= until:
        raise bad("from", "must be before to")
    if (until - since).total_seconds() / BUCKET_SECONDS[bucket] > MAX_BUCKETS:
        raise bad("from", f"the window spans more than {MAX_BUCKETS} {bucket} buckets; "
                          "narrow it or use a larger bucket")
    return since, until
