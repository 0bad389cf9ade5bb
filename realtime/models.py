"""The change-capture tables (docs/realtime.md, "Change capture").

`PendingChange`: what the capture triggers write, one row per statement and table (its rows as
one JSON array), until the relay takes it. `ChangeLog`: every change the relay has handed on,
with its position (commit order), kept for resuming clients and for server processes that
missed a bus message; pruned by age and size. `RelayState`: one row, locked by the batch in
progress, so that two relays never interleave and positions follow commit order.
"""

from __future__ import annotations

from django.db import models


class JSONTextField(models.JSONField):
    """A JSONField on a `json` column (text as written, not parsed into jsonb): the capture
    triggers build their rows as json (realtime/capture.py says why)."""

    def db_type(self, connection) -> str:
        return "json"

    def from_db_value(self, value, expression, connection):
        if value is None or not isinstance(value, str):
            return value  # psycopg's own json loader parsed it (Django's text loader is for jsonb)
        return super().from_db_value(value, expression, connection)


class PendingChange(models.Model):
    id = models.BigAutoField(primary_key=True)
    txid = models.BigIntegerField(help_text="the writing transaction (pg_current_xact_id)")
    table_name = models.TextField()
    op = models.TextField()
    rows = JSONTextField(help_text="[[record, old_record], ...] without the policy's `never` columns")
    written_at = models.DateTimeField()

    class Meta:
        db_table = "realtime_pending_changes"
        indexes = [models.Index(fields=["txid"], name="realtime_pending_txid")]


class ChangeLog(models.Model):
    position = models.BigIntegerField(primary_key=True)
    table_name = models.TextField()
    op = models.TextField()
    committed_at = models.DateTimeField()
    message = models.BinaryField(help_text="the bus message (variants with their audiences), JSON")

    class Meta:
        db_table = "realtime_change_log"
        indexes = [models.Index(fields=["committed_at"], name="realtime_log_committed_at")]


class RelayState(models.Model):
    id = models.SmallIntegerField(primary_key=True, default=1)
    position = models.BigIntegerField(default=0, help_text="the last position handed on")
    pruned_through = models.BigIntegerField(default=0, help_text="positions up to this one left the log")
    leader = models.TextField(blank=True, default="", help_text="host:pid of the relay holding the lead")
    heartbeat_at = models.DateTimeField(null=True)

    class Meta:
        db_table = "realtime_relay_state"
