"""`row_changed`: one Django signal per captured change, sent by the relay (realtime/relay.py).

Sent inside the relay's batch transaction, in commit order, exactly once per change whoever
wrote it (ORM, bulk paths, COPY, psql): what a receiver writes commits together with the relay's
progress, so a relay that dies before committing sends the change again and nothing was kept.
Receivers: the realtime publisher (realtime/publisher.py) and the seed's trigger behaviour
(notifications/receivers.py). `sender` is the model; `change` a `CapturedChange`.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from types import SimpleNamespace

from django.dispatch import Signal

row_changed = Signal()

INSERT, UPDATE, DELETE = "INSERT", "UPDATE", "DELETE"
_fields_of: dict = {}  # (model, record's columns) → [(attname, column)] of the concrete fields it holds


@dataclass
class CapturedChange:
    model: type
    type: str
    record: dict | None  # the row after (INSERT, UPDATE), JSON-typed, without `never` columns
    old_record: dict | None  # the row before (UPDATE, DELETE), in full
    committed_at: datetime.datetime
    position: int
    batch: int = 0  # the first position of the relay's batch (audiences are shared within one)
    push: dict | None = field(default=None)  # the bus message, set by the publisher

    @property
    def table(self) -> str:
        return self.model._meta.db_table

    @property
    def row(self) -> dict:
        """The record the change is about: the new one, or the old one of a DELETE."""
        return (self.old_record if self.type == DELETE else self.record) or {}

    def _fields(self) -> list[tuple[str, str]]:
        model, row = self.model, self.row
        key = (model, tuple(row))
        fields = _fields_of.get(key)
        if fields is None:  # once per model and column set, not once per change
            fields = _fields_of[key] = [(f.attname, f.column) for f in model._meta.concrete_fields if f.column in row]
        return fields

    def instance(self):
        """The row as an unsaved-looking model instance (for policies that take one)."""
        row, fields = self.row, self._fields()
        return self.model.from_db(None, [attname for attname, _ in fields], [row[column] for _, column in fields])

    def attributes(self) -> SimpleNamespace:
        """The row's values by attribute name (`agent_id`), without building a model instance:
        enough for `policy.audience_key`, asked once per change of a bulk statement."""
        row = self.row
        return SimpleNamespace(**{attname: row[column] for attname, column in self._fields()})

    def changed(self, column: str) -> bool:
        """True when an UPDATE gave `column` another value."""
        return self.type == UPDATE and (self.old_record or {}).get(column) != (self.record or {}).get(column)
