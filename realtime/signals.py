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

from django.dispatch import Signal

row_changed = Signal()

INSERT, UPDATE, DELETE = "INSERT", "UPDATE", "DELETE"


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

    def instance(self):
        """The row as an unsaved-looking model instance (for policies that take one)."""
        model = self.model
        fields = [f for f in model._meta.concrete_fields if f.column in self.row]
        return model.from_db(None, [f.attname for f in fields], [self.row[f.column] for f in fields])

    def changed(self, column: str) -> bool:
        """True when an UPDATE gave `column` another value."""
        return self.type == UPDATE and (self.old_record or {}).get(column) != (self.record or {}).get(column)
