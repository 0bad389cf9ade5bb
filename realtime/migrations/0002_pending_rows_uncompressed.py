"""Pending rows' `rows` stored without compression (STORAGE EXTERNAL).

A bulk statement's pending row holds every row it wrote (a 10,000-row COPY: ~5 MB of jsonb);
PostgreSQL compressed it with pglz in the writer's transaction, then the relay decompressed it
moments later, only to delete it. Out-of-line but uncompressed costs neither.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("realtime", "0001_change_capture")]

    operations = [
        migrations.RunSQL("ALTER TABLE realtime_pending_changes ALTER COLUMN rows SET STORAGE EXTERNAL",
                          "ALTER TABLE realtime_pending_changes ALTER COLUMN rows SET STORAGE EXTENDED"),
    ]
