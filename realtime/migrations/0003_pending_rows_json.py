"""Pending rows' `rows` as `json`, not `jsonb` (the capture triggers build text JSON; see
realtime/capture.py), still stored out of line without compression (0002).

A type change resets the column's storage to the type's default, so STORAGE EXTERNAL is set
again after it, both ways. The capture function itself is re-created by `sync_triggers` after
every migrate (until then the old one's jsonb goes in by PostgreSQL's assignment cast).
"""

from django.db import migrations

import realtime.models

EXTERNAL = "ALTER TABLE realtime_pending_changes ALTER COLUMN rows SET STORAGE EXTERNAL"


class Migration(migrations.Migration):
    dependencies = [("realtime", "0002_pending_rows_uncompressed")]

    operations = [
        migrations.RunSQL(migrations.RunSQL.noop, EXTERNAL),  # reversed: after the type is jsonb again
        migrations.AlterField(
            model_name="pendingchange", name="rows",
            field=realtime.models.JSONTextField(
                help_text="[[record, old_record], ...] without the policy's `never` columns"),
        ),
        migrations.RunSQL(EXTERNAL, migrations.RunSQL.noop),
    ]
