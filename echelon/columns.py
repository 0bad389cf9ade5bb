"""Column rules of a row policy: which columns each kind of reader sees, which ones users write.

Declared once per model, as the `columns` attribute of its `RowPolicy` (`<app>/policies.py`),
in database column names (`created_by`, `team_id`), so every adapter and every later layer
reads the same data: REST serializers (`echelon.api.serializers`), realtime change records
(`realtime.changes`), the admin (`echelon.admin`), and the PostgreSQL capture
triggers and `/rest/v1` `select=` lists that come later.

- `never`: columns no reader sees through any adapter, operators included (secrets, the password
  hash). They never leave the server, not even into a change record.
- `shown`: reader kind → the columns it sees. Which kind a user is for a row is the policy's
  `reader_kind(user, row)`: `reader` (whoever the row policy lets read the row) unless the policy
  distinguishes more (`users`: `self` or `member`); superusers are `operator` everywhere, and
  see every column that is not `never` unless the declaration says otherwise.
- `writable`: the columns a user may set through a user-facing write (REST, the admin for staff,
  later `/rest/v1`); everything else (owner fields, counters, timestamps, audit fields) is set
  by the server. `operator_writable`: what superusers may set besides, in the operator console.
- `ingested`: rows only the ingestion services write (n8n's executions and thoughts, metrics, the
  platform's usage records): `writable` then names what those writers send through the API, and
  the operator console (the admin) shows the rows read-only to everyone, superusers included, and
  adds or deletes none, so counters and states stay what the services made them.

`ALL` in `shown` stands for "every column that is not `never`"; `bind(model)` expands it and
checks the declaration against the model (every concrete column classified, no unknown name),
so after registration everything here is plain frozensets.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from django.core.exceptions import ImproperlyConfigured

READER = "reader"  # a reader the row policy admits, when the policy makes no finer distinction
SELF = "self"  # users: the user's own row
MEMBER = "member"  # users: a teammate's row (the public profile)
OPERATOR = "operator"  # superusers: the operator console

ALL = "__all__"


@dataclass(frozen=True)
class Columns:
    """The column declaration of one model (see the module docstring)."""

    never: frozenset = frozenset()
    shown: Mapping = field(default_factory=lambda: {READER: ALL})
    writable: frozenset = frozenset()
    operator_writable: frozenset = frozenset()
    ingested: bool = False
    table: str = ""  # set by bind()
    all_columns: tuple = ()  # the model's concrete columns in field order, set by bind()

    # --- reading the declaration ----------------------------------------------------------------
    def visible(self, kind: str) -> frozenset:
        """The columns a reader of `kind` sees (an unknown kind sees nothing)."""
        return self.shown.get(kind, frozenset())

    @property
    def kinds(self) -> tuple:
        return tuple(self.shown)

    @property
    def published(self) -> tuple:
        """Every column some reader may see, in the model's field order (what may leave the
        server at all, e.g. into a change record)."""
        return tuple(c for c in self.all_columns if c not in self.never)

    @property
    def common(self) -> frozenset:
        """The columns every non-operator kind sees (e.g. a list mixing several kinds' rows)."""
        kinds = [cols for kind, cols in self.shown.items() if kind != OPERATOR]
        return frozenset.intersection(*kinds) if kinds else frozenset()

    def writable_by(self, *, operator: bool) -> frozenset:
        return self.writable | self.operator_writable if operator else self.writable

    def console_writable(self, *, operator: bool) -> frozenset:
        """What a user may set in the operator console (the admin): nothing of an ingested row."""
        return frozenset() if self.ingested else self.writable_by(operator=operator)

    def as_dict(self) -> dict:
        """The declaration as JSON-ready data (columns in field order), for code generators."""
        order = {c: i for i, c in enumerate(self.all_columns)}

        def ordered(cols) -> list:
            return sorted(cols, key=order.__getitem__)

        return {
            "table": self.table,
            "never": ordered(self.never),
            "shown": {kind: ordered(cols) for kind, cols in self.shown.items()},
            "writable": ordered(self.writable),
            "operator_writable": ordered(self.operator_writable),
            "ingested": self.ingested,
        }

    # --- binding to the model --------------------------------------------------------------------
    def bind(self, model) -> Columns:
        """This declaration expanded (`ALL`, the operator kind) and checked against `model`."""
        table = model._meta.db_table
        columns = tuple(f.column for f in model._meta.concrete_fields)
        known = frozenset(columns)

        def check(name: str, cols: Iterable[str]) -> frozenset:
            cols = frozenset(cols)
            unknown = cols - known
            if unknown:
                raise ImproperlyConfigured(f"{table}: {name} names unknown columns {sorted(unknown)}")
            return cols

        never = check("never", self.never)
        published = known - never
        shown = {}
        for kind, cols in self.shown.items():
            cols = published if cols == ALL else check(f"shown[{kind!r}]", cols)
            if cols & never:
                raise ImproperlyConfigured(f"{table}: {kind} is shown never-shown columns {sorted(cols & never)}")
            shown[kind] = cols
        shown.setdefault(OPERATOR, published)
        unclassified = published - frozenset().union(*shown.values())
        if unclassified:
            raise ImproperlyConfigured(
                f"{table}: columns {sorted(unclassified)} are neither `never` nor shown to any reader kind"
            )
        writable = check("writable", self.writable)
        operator_writable = check("operator_writable", self.operator_writable)
        for name, cols, limit in (("writable", writable, published),
                                  ("operator_writable", operator_writable, shown[OPERATOR])):
            if not cols <= limit:
                raise ImproperlyConfigured(f"{table}: {name} columns {sorted(cols - limit)} are not shown")
        if self.ingested and operator_writable:
            raise ImproperlyConfigured(f"{table}: ingested rows are written by the services only, "
                                       f"not by operators ({sorted(operator_writable)})")
        return Columns(never=never, shown=shown, writable=writable, operator_writable=operator_writable,
                       ingested=self.ingested, table=table, all_columns=columns)


def columns_of_fields(model, names: Iterable[str]) -> dict:
    """Django field names (or attnames) of `model` → their column; names that are not concrete
    fields of the model are left out."""
    by_name = {}
    for f in model._meta.concrete_fields:
        by_name[f.name] = by_name[f.attname] = f.column
    return {name: by_name[name] for name in names if name in by_name}
