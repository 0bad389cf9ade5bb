"""Pending rows' `rows` as `json`, not `jsonb` (the capture triggers build text JSON; see
realtime/capture.py), still stored out of line without compression (0002)."""

from django.db import migrations

import realtime.models
from realtime.capture import CAPTURE_FUNCTION


class Migration(migrations.Migration):
    dependencies = [("realtime", "0002_pending_rows_uncompressed")]

    operations = [
        migrations.AlterField(
            model_name="pendingchange", name="rows",
            field=realtime.models.JSONTextField(
                help_text="[[record, old_record], ...] without the policy's `never` columns"),
        ),
        # a type change resets the column's storage to the type's default
        migrations.RunSQL("ALTER TABLE realtime_pending_changes ALTER COLUMN rows SET STORAGE EXTERNAL",
                          "ALTER TABLE realtime_pending_changes ALTER COLUMN rows SET STORAGE EXTERNAL"),
        # the triggers of a database migrated from 0002 write json from here on
        migrations.RunSQL(CAPTURE_FUNCTION, migrations.RunSQL.noop),
    ]
