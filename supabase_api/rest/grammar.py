"""The PostgREST query grammar supabase-js emits, parsed into plain data (no schema, no SQL).

- `select`: `*`, `col`, `alias:col`, `col::cast`, JSON paths `col->a->>b`, embeds
  `[alias:]rel[!hint][!inner|!left](...)`, spreads `...rel(...)`;
- filters `[embed.]col=[not.]op.value` with eq, neq, gt, gte, lt, lte, like, ilike, is,
  isdistinct, in, cs, cd, ov; logic trees `[embed.][not.]or|and=(…)`, nested;
- `order=col[.asc|.desc][.nullsfirst|.nullslast],…` (also `embed.order`), `limit`, `offset`.

Operators and forms PostgREST has but Echelon does not serve (full-text search, regex matches,
range operators, `(any)`/`(all)` modifiers, aggregates, related orders) raise `not_served`: a 400
naming them. Everything else unreadable is a PGRST100 naming the parameter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from supabase_api.rest.errors import RestError, not_served, parse_error

OPERATORS = frozenset({"eq", "neq", "gt", "gte", "lt", "lte", "like", "ilike", "is", "isdistinct", "in",
                       "cs", "cd", "ov"})
NOT_SERVED_OPERATORS = frozenset({"fts", "plfts", "phfts", "wfts", "match", "imatch", "sl", "sr", "nxr", "nxl",
                                  "adj"})
AGGREGATES = frozenset({"count", "sum", "avg", "max", "min"})
IS_VALUES = frozenset({"null", "not_null", "true", "false", "unknown"})
CASTS = {
    "text": "text", "varchar": "varchar", "int": "integer", "int4": "integer", "integer": "integer",
    "int2": "smallint", "smallint": "smallint", "int8": "bigint", "bigint": "bigint", "numeric": "numeric",
    "decimal": "numeric", "real": "real", "float4": "real", "float8": "double precision",
    "float": "double precision", "bool": "boolean", "boolean": "boolean", "json": "json", "jsonb": "jsonb",
    "uuid": "uuid", "date": "date", "timestamptz": "timestamptz", "timestamp": "timestamp",
}
RESERVED = frozenset({"select", "order", "limit", "offset", "columns", "on_conflict", "apikey"})
MAX_ITEMS = 50  # json_build_object takes at most 100 arguments (50 keys)
MAX_DEPTH = 8
MAX_IN_VALUES = 1000


@dataclass(frozen=True)
class Path:
    """A column with an optional JSON path: `config->a->>b` → ("config", (("->", "a"), ("->>", "b")))."""

    column: str
    json: tuple = ()

    @property
    def text(self) -> str:
        return self.column + "".join(f"{op}{key}" for op, key in self.json)

    @property
    def output_name(self) -> str:
        """The key PostgREST names a JSON path's value with: its last key."""
        return str(self.json[-1][1]) if self.json else self.column


@dataclass
class ColumnItem:
    path: Path
    alias: str | None = None
    cast: str | None = None

    @property
    def key(self) -> str:
        return self.alias or self.path.output_name


@dataclass
class StarItem:
    pass


@dataclass
class EmbedItem:
    name: str
    alias: str | None = None
    hint: str | None = None
    join: str = "left"  # "inner": parent rows without a match are dropped
    spread: bool = False
    items: list = field(default_factory=list)

    @property
    def key(self) -> str:
        return self.alias or self.name


@dataclass
class Condition:
    path: Path
    operator: str
    value: object  # str, list[str] for `in`
    negated: bool = False


@dataclass
class Logic:
    operator: str  # "and" | "or"
    conditions: list
    negated: bool = False


@dataclass
class OrderTerm:
    path: Path
    descending: bool = False
    nulls: str | None = None  # "first" | "last"


# --- select ------------------------------------------------------------------------------------------
_NAME_END = re.compile(r"->|::|[,():!.]")


def _strip_spaces(text: str) -> str:
    """Whitespace outside double quotes is ignored (supabase-js removes it too)."""
    out, quoted = [], False
    for ch in text:
        if ch == '"':
            quoted = not quoted
        if quoted or not ch.isspace():
            out.append(ch)
    return "".join(out)


class _SelectParser:
    def __init__(self, text: str):
        self.text, self.i = _strip_spaces(text), 0

    def fail(self, why: str):
        raise parse_error("select parameter", self.text, f"{why} at position {self.i}")

    def peek(self, token: str) -> bool:
        return self.text.startswith(token, self.i)

    def take(self, token: str) -> bool:
        if self.peek(token):
            self.i += len(token)
            return True
        return False

    def name(self) -> str:
        if self.take('"'):
            end = self.text.find('"', self.i)
            if end < 0:
                self.fail("unterminated quote")
            value, self.i = self.text[self.i:end], end + 1
            return value
        match = _NAME_END.search(self.text, self.i)
        end = match.start() if match else len(self.text)
        value, self.i = self.text[self.i:end], end
        if not value:
            self.fail("a name is expected")
        return value

    def items(self, depth: int) -> list:
        if depth > MAX_DEPTH:
            self.fail(f"embeds nest at most {MAX_DEPTH} levels")
        result = []
        while True:
            result.append(self.item(depth))
            if not self.take(","):
                break
        if len(result) > MAX_ITEMS:
            raise parse_error("select parameter", self.text, f"at most {MAX_ITEMS} items per level")
        return result

    def item(self, depth: int):
        if self.take("*"):
            return StarItem()
        spread = self.take("...")
        first = self.name()
        alias = None
        if self.peek(":") and not self.peek("::"):
            self.i += 1
            alias, first = first, self.name()
        json = []
        while self.peek("->"):
            op = "->>" if self.take("->>") else (self.take("->") and "->")
            key = self.name()
            json.append((op, int(key) if re.fullmatch(r"-?\d+", key) else key))
        hint, join = None, "left"
        while self.take("!"):
            mark = self.name()
            if mark in ("inner", "left"):
                join = mark
            elif hint is None:
                hint = mark
            else:
                self.fail("one relationship hint per embed")
        if self.peek("(") and not json:
            self.i += 1
            if first in AGGREGATES and self.peek(")"):
                raise not_served(f"the aggregate {first}()", "Aggregate functions are disabled, as in Supabase.")
            inner = [] if self.peek(")") else self.items(depth + 1)
            if not self.take(")"):
                self.fail("')' expected")
            return EmbedItem(first, alias, hint, join, spread, inner)
        if spread:
            self.fail("'...' spreads an embedded resource: rel(...) expected")
        if hint is not None or join != "left":
            self.fail("'!' marks an embedded resource: rel!hint(...) expected")
        if self.take("."):
            function = self.name()
            if function in AGGREGATES:
                raise not_served(f"the aggregate {first}.{function}()",
                                 "Aggregate functions are disabled, as in Supabase.")
            self.fail(f"unexpected '.{function}'")
        cast = None
        if self.take("::"):
            wanted = self.name().lower()
            cast = CASTS.get(wanted)
            if cast is None:
                raise not_served(f"the cast ::{wanted}", f"Casts served: {', '.join(sorted(CASTS))}.")
        return ColumnItem(Path(first, tuple(json)), alias, cast)

    def parse(self) -> list:
        if not self.text:
            return [StarItem()]
        items = self.items(0)
        if self.i != len(self.text):
            self.fail(f"unexpected {self.text[self.i]!r}")
        return items


def parse_select(text: str) -> list:
    return _SelectParser(text).parse()


# --- filters -------------------------------------------------------------------------------------------
def parse_path(text: str, what: str) -> Path:
    parts = re.split(r"(->>|->)", text)
    column, json = parts[0], []
    if not column or any(c in column for c in "(),:!\""):
        raise parse_error(what, text, "a column name is expected")
    for op, key in zip(parts[1::2], parts[2::2], strict=True):
        if not key:
            raise parse_error(what, text, "a JSON key is expected after " + op)
        key = key.strip('"')
        json.append((op, int(key) if re.fullmatch(r"-?\d+", key) else key))
    return Path(column, tuple(json))


def _split_top(text: str, what: str) -> list[str]:
    """Split on commas outside quotes, () and {}."""
    parts, depth, quoted, start, i = [], 0, False, 0, 0
    while i < len(text):
        ch = text[i]
        if quoted:
            if ch == "\\":
                i += 1
            elif ch == '"':
                quoted = False
        elif ch == '"':
            quoted = True
        elif ch in "({[":
            depth += 1
        elif ch in ")}]":
            depth -= 1
            if depth < 0:
                raise parse_error(what, text, "unbalanced parentheses")
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
        i += 1
    if quoted or depth:
        raise parse_error(what, text, "unbalanced quotes or parentheses")
    parts.append(text[start:])
    return parts


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    return value


def _operation(path: Path, text: str, what: str, *, quoted_values: bool) -> Condition:
    negated = False
    if text.startswith("not."):
        negated, text = True, text[4:]
    operator, dot, value = text.partition(".")
    if "(" in operator:
        raise not_served(f"the operator modifier {operator}", "Use or=() instead of (any)/(all).")
    if operator in NOT_SERVED_OPERATORS:
        raise not_served(f"the operator {operator}")
    if operator not in OPERATORS or not dot:
        raise parse_error(what, text, f"unknown operator {operator!r}")
    if operator == "in":
        if not (value.startswith("(") and value.endswith(")")):
            raise parse_error(what, text, "in.(a,b,…) expected")
        inner = value[1:-1]
        values = [_unquote(v) for v in _split_top(inner, what)] if inner else []
        if len(values) > MAX_IN_VALUES:
            raise parse_error(what, text, f"at most {MAX_IN_VALUES} values in in.()")
        return Condition(path, operator, values, negated)
    if operator == "is":
        value = value.lower()
        if value not in IS_VALUES:
            raise parse_error(what, text, "is.null, is.not_null, is.true, is.false or is.unknown expected")
    elif quoted_values:
        value = _unquote(value)
    return Condition(path, operator, value, negated)


def parse_condition(key_path: str, value: str) -> Condition:
    """A filter parameter `col=op.value` (the path without its embed prefix)."""
    what = f"filter ({key_path}={value})"
    return _operation(parse_path(key_path, what), value, what, quoted_values=False)


def parse_logic(operator: str, value: str, negated: bool = False) -> Logic:
    """`or=(a.eq.1,and(b.gt.2,c.is.null))` → a Logic tree."""
    what = f"logic tree ({operator}={value})"
    if not (value.startswith("(") and value.endswith(")")):
        raise parse_error(what, value, "(…) expected")
    return _logic(operator, value[1:-1], negated, what, 0)


def _logic(operator: str, inner: str, negated: bool, what: str, depth: int) -> Logic:
    if depth > MAX_DEPTH:
        raise parse_error(what, inner, f"logic trees nest at most {MAX_DEPTH} levels")
    conditions = []
    for part in _split_top(inner, what):
        nested = re.fullmatch(r"(not\.)?(or|and)\((.*)\)", part, re.S)
        if nested:
            conditions.append(_logic(nested.group(2), nested.group(3), bool(nested.group(1)), what, depth + 1))
            continue
        column, dot, rest = part.partition(".")
        if not dot:
            raise parse_error(what, part, "col.op.value expected")
        # a JSON path may hold dots only inside quotes; the column ends at the first dot
        conditions.append(_operation(parse_path(column, what), rest, what, quoted_values=True))
    if not conditions or any(not c for c in conditions):
        raise parse_error(what, inner, "a condition is expected")
    return Logic(operator, conditions, negated)


def parse_order(text: str) -> list[OrderTerm]:
    terms = []
    for part in _split_top(text, "order parameter"):
        if "(" in part:
            raise not_served(f"ordering by an embedded resource ({part})", "Order the embed itself: rel.order=col.")
        pieces = part.split(".")
        path = parse_path(pieces[0], "order parameter")
        term = OrderTerm(path)
        for modifier in pieces[1:]:
            if modifier in ("asc", "desc"):
                term.descending = modifier == "desc"
            elif modifier in ("nullsfirst", "nullslast"):
                term.nulls = modifier[5:]
            else:
                raise parse_error("order parameter", text, f"unknown modifier {modifier!r}")
        terms.append(term)
    return terms


def parse_count(name: str, text: str) -> int:
    if not re.fullmatch(r"\d{1,12}", text or ""):
        raise parse_error(f"{name} parameter", text, "a non-negative integer is expected")
    return int(text)


@dataclass
class Query:
    """A request's query string, parsed: what each embed path (a tuple of keys) asks."""

    select: list = field(default_factory=lambda: [StarItem()])
    filters: dict = field(default_factory=dict)  # embed path → [Condition | Logic]
    order: dict = field(default_factory=dict)  # embed path → [OrderTerm]
    limit: dict = field(default_factory=dict)  # embed path → int
    offset: dict = field(default_factory=dict)
    columns: list | None = None
    on_conflict: list | None = None


def parse_query(params) -> Query:
    """`params`: (key, value) pairs of the query string, repeated keys kept."""
    query = Query()
    for key, value in params:
        if "\x00" in key or "\x00" in value:
            raise RestError("22P05", "unsupported Unicode escape sequence",
                            details="\\u0000 cannot be converted to text.")
        if key == "select":
            query.select = parse_select(value)
        elif key == "columns":
            query.columns = [_unquote(c.strip()) for c in value.split(",") if c.strip()]
        elif key == "on_conflict":
            query.on_conflict = [_unquote(c.strip()) for c in value.split(",") if c.strip()]
        elif key == "apikey":
            continue
        else:
            _parse_param(query, key, value)
    return query


def _parse_param(query: Query, key: str, value: str) -> None:
    parts = key.split(".")
    # `[embed.]*(not.)?(or|and)`, `[embed.]*order|limit|offset`, else `[embed.]*col` (col may hold ->)
    last = parts[-1]
    if last in ("or", "and"):
        negated = len(parts) > 1 and parts[-2] == "not"
        embed = tuple(parts[:-2] if negated else parts[:-1])
        query.filters.setdefault(embed, []).append(parse_logic(last, value, negated))
        return
    if last in ("order", "limit", "offset") and "->" not in key:
        embed = tuple(parts[:-1])
        if last == "order":
            query.order[embed] = parse_order(value)
        else:
            getattr(query, last)[embed] = parse_count(key, value)
        return
    # a JSON path's keys may not hold dots here: the embed path is every dotted part but the last
    arrow = key.find("->")
    head = key if arrow < 0 else key[:arrow]
    embed_parts = head.split(".")
    column = embed_parts[-1] + ("" if arrow < 0 else key[arrow:])
    query.filters.setdefault(tuple(embed_parts[:-1]), []).append(parse_condition(column, value))
