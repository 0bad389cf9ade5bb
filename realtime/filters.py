"""Column filters of postgres_changes subscriptions: `column=op.value`.

Operators `eq, neq, lt, lte, gt, gte, in` (`in.(a,b,c)`, at most 100 values). The value is
cast to the column's type, and the record's value is cast the same way before comparing, so
`id=eq.ABC…` matches a uuid written in lower case. A NULL never matches (as in SQL).
"""

from __future__ import annotations

import datetime
import operator
import uuid
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

MAX_IN_VALUES = 100

OPERATORS = {
    "eq": operator.eq,
    "neq": operator.ne,
    "lt": operator.lt,
    "lte": operator.le,
    "gt": operator.gt,
    "gte": operator.ge,
}


class FilterError(ValueError):
    """A filter the server cannot apply; the message names the problem."""


def _bool(value):
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"true", "t", "1", "yes", "on"}:
        return True
    if text in {"false", "f", "0", "no", "off"}:
        return False
    raise ValueError(f"{value!r} is not a boolean")


def _timestamp(value):
    if isinstance(value, datetime.datetime):
        moment = value
    else:
        moment = datetime.datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.UTC)


def _uuid(value):
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value).strip())


def _int(value):
    if isinstance(value, bool):
        raise ValueError("not an integer")
    return int(value) if isinstance(value, int) else int(str(value).strip())


def _numeric(value):
    try:
        return Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a number") from None


CASTS = {
    "uuid": _uuid,
    "varchar": str,
    "text": str,
    "timestamptz": _timestamp,
    "date": lambda v: datetime.date.fromisoformat(str(v)),
    "int2": _int,
    "int4": _int,
    "int8": _int,
    "numeric": _numeric,
    "float8": lambda v: float(v),
    "bool": _bool,
}


@dataclass(frozen=True)
class Filter:
    column: str
    op: str
    values: tuple | frozenset
    cast: object

    def matches(self, record: dict) -> bool:
        raw = record.get(self.column)
        if raw is None:
            return False
        try:
            value = self.cast(raw)
        except (TypeError, ValueError):
            return False
        if self.op == "in":
            return value in self.values
        return OPERATORS[self.op](value, self.values[0])


def parse_filter(text: str, column_types: dict[str, str]) -> Filter:
    """Parse `column=op.value` against a table's columns; raise FilterError naming the problem."""
    column, sep, rest = text.partition("=")
    column = column.strip()
    if not sep or not column:
        raise FilterError(f"invalid filter {text!r}: expected column=operator.value")
    if column not in column_types:
        raise FilterError(f"invalid filter {text!r}: unknown column {column!r}")
    op, dot, value = rest.partition(".")
    if not dot:
        raise FilterError(f"invalid filter {text!r}: expected column=operator.value")
    if op not in OPERATORS and op != "in":
        raise FilterError(
            f"invalid filter {text!r}: unknown operator {op!r} (use eq, neq, lt, lte, gt, gte or in)"
        )
    col_type = column_types[column]
    cast = CASTS.get(col_type)
    if cast is None:
        raise FilterError(f"invalid filter {text!r}: column {column!r} of type {col_type} cannot be filtered")
    if op == "in":
        if not (value.startswith("(") and value.endswith(")")) or len(value) < 3:
            raise FilterError(f"invalid filter {text!r}: malformed in list, expected in.(a,b,c)")
        items = [item.strip().strip('"') for item in value[1:-1].split(",")]
        if len(items) > MAX_IN_VALUES:
            raise FilterError(f"invalid filter {text!r}: in list has {len(items)} values, at most {MAX_IN_VALUES}")
        if any(item == "" for item in items):
            raise FilterError(f"invalid filter {text!r}: malformed in list, empty value")
        raw_values = items
    else:
        raw_values = [value]
    try:
        values = tuple(cast(v) for v in raw_values)
    except (TypeError, ValueError) as exc:
        raise FilterError(f"invalid filter {text!r}: value is not a valid {col_type} ({exc})") from None
    return Filter(column, op, frozenset(values) if op == "in" else values, cast)
