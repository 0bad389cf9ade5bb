"""Column filters of postgres_changes subscriptions: `column=op.value`, several ANDed with commas.

Operators (as realtime has them in 2026): `eq, neq, lt, lte, gt, gte, in` (`in.(a,b,c)`, at
most 100 values), `like, ilike` (`%` or `*` any run, `_` one character; text columns), `match,
imatch` (a regular expression found anywhere in the value, RE2 syntax: linear time, so no
subscriber's pattern can stall the fan-out), `is` (`null, true, false, unknown`), `isdistinct`
(NULL-safe `neq`), and `not.<op>` of each. The value is cast to the column's type, and the
record's value is cast the same way before comparing, so `id=eq.ABC…` matches a uuid written in
lower case. As in SQL, a NULL matches no comparison nor its `not.` form; only `is` and
`isdistinct` say something about NULL. `a=eq.1,b=gt.2` is both (at most 20 conditions; a comma
starts a condition only when a known column and `=` follow it, so values may hold commas).
"""

from __future__ import annotations

import datetime
import operator
import uuid
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import re2

MAX_IN_VALUES = 100
MAX_CONDITIONS = 20
MAX_PATTERN = 1000  # characters of a like/match pattern
TEXT_TYPES = frozenset({"varchar", "text"})
PATTERN_OPERATORS = ("like", "ilike", "match", "imatch")
IS_VALUES = {"null": None, "unknown": None, "true": True, "false": False}

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
class Condition:
    column: str
    op: str
    values: tuple | frozenset
    cast: object
    negated: bool = False

    def matches(self, record: dict) -> bool:
        raw = record.get(self.column)
        if self.op == "is":
            return (raw is self.values[0] if self.values[0] is None else raw == self.values[0]) != self.negated
        if self.op == "isdistinct":
            return self._distinct(raw) != self.negated
        if raw is None:
            return False  # SQL: NULL op x and NOT (NULL op x) are both unknown
        result = self._compare(raw)
        return False if result is None else result != self.negated

    def _distinct(self, raw) -> bool:
        if raw is None:
            return True
        try:
            return self.cast(raw) != self.values[0]
        except (TypeError, ValueError):
            return True

    def _compare(self, raw) -> bool | None:
        if self.op in PATTERN_OPERATORS:
            if not isinstance(raw, str):
                return None
            pattern = self.values[0]
            return (pattern.fullmatch(raw) if self.op in ("like", "ilike") else pattern.search(raw)) is not None
        try:
            value = self.cast(raw)
        except (TypeError, ValueError):
            return None
        if self.op == "in":
            return value in self.values
        return OPERATORS[self.op](value, self.values[0])


@dataclass(frozen=True)
class Filter:
    """The conditions of one subscription, all of which must hold."""

    conditions: tuple

    def matches(self, record: dict) -> bool:
        return all(condition.matches(record) for condition in self.conditions)


def _split(text: str, column_types: dict) -> list[str]:
    """`a=eq.1,b=in.(x,y)` → its conditions: a comma at depth 0 followed by `<known column>=`."""
    parts, start, depth = [], 0, 0
    for index, char in enumerate(text):
        if char == "(":
            depth += 1
        elif char == ")":
            depth = max(0, depth - 1)
        elif char == "," and depth == 0:
            column, sep, _ = text[index + 1:].partition("=")
            if sep and column.strip() in column_types:
                parts.append(text[start:index])
                start = index + 1
    parts.append(text[start:])
    return parts


def _regex(pattern: str):
    options = re2.Options()
    options.log_errors = False  # a client's bad pattern is its error reply, not a server log line
    return re2.compile(pattern, options)


def _like(pattern: str, insensitive: bool):
    """SQL LIKE as RE2: `%` (or PostgREST's `*`) any run, `_` one character, `\\` escapes the next."""
    parts, escaped = [], False
    for char in pattern:
        if escaped:
            parts.append(re2.escape(char))
            escaped = False
        elif char == "\\":
            escaped = True
        else:
            parts.append(".*" if char in "%*" else "." if char == "_" else re2.escape(char))
    if escaped:
        parts.append(re2.escape("\\"))
    return _regex(("(?is)" if insensitive else "(?s)") + "".join(parts))


def parse_filter(text: str, column_types: dict[str, str]) -> Filter:
    """Parse `column=op.value[,column=op.value…]` against a table's columns; raise FilterError
    naming the problem."""
    parts = _split(text, column_types)
    if len(parts) > MAX_CONDITIONS:
        raise FilterError(f"invalid filter: {len(parts)} conditions, at most {MAX_CONDITIONS}")
    return Filter(tuple(_condition(part, text, column_types) for part in parts))


def _condition(part: str, text: str, column_types: dict[str, str]) -> Condition:
    column, sep, rest = part.partition("=")
    column = column.strip()
    if not sep or not column:
        raise FilterError(f"invalid filter {text!r}: expected column=operator.value")
    if column not in column_types:
        raise FilterError(f"invalid filter {text!r}: unknown column {column!r}")
    op, dot, value = rest.partition(".")
    negated = op == "not"
    if negated:
        op, dot, value = value.partition(".")
    if not dot:
        raise FilterError(f"invalid filter {text!r}: expected column=operator.value")
    known = (*OPERATORS, "in", *PATTERN_OPERATORS, "is", "isdistinct")
    if op not in known:
        raise FilterError(f"invalid filter {text!r}: unknown operator {op!r} (use {', '.join(known)}, or not.<op>)")
    col_type = column_types[column]
    cast = CASTS.get(col_type)
    if cast is None:
        raise FilterError(f"invalid filter {text!r}: column {column!r} of type {col_type} cannot be filtered")
    if op == "is":
        if value.lower() not in IS_VALUES:
            raise FilterError(f"invalid filter {text!r}: is takes null, true, false or unknown")
        if IS_VALUES[value.lower()] is not None and col_type != "bool":
            raise FilterError(f"invalid filter {text!r}: is.{value} needs a boolean column")
        return Condition(column, op, (IS_VALUES[value.lower()],), cast, negated)
    if op in PATTERN_OPERATORS:
        if col_type not in TEXT_TYPES:
            raise FilterError(f"invalid filter {text!r}: {op} needs a text column, not {col_type}")
        if len(value) > MAX_PATTERN:
            raise FilterError(f"invalid filter {text!r}: pattern over {MAX_PATTERN} characters")
        try:
            pattern = _like(value, op == "ilike") if op in ("like", "ilike") else \
                _regex(("(?i)" if op == "imatch" else "") + value)
        except re2.error as exc:
            reason = exc.args[0].decode(errors="replace") if exc.args and isinstance(exc.args[0], bytes) else str(exc)
            raise FilterError(f"invalid filter {text!r}: bad regular expression ({reason})") from None
        return Condition(column, op, (pattern,), cast, negated)
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
    return Condition(column, op, frozenset(values) if op == "in" else values, cast, negated)
