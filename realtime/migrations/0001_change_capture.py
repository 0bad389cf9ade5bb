"""Change capture: its tables, the positions' sequence and the trigger function.

Which tables carry the triggers (`REALTIME_PUBLISHED_TABLES`) and which columns they leave out
(the policies' `never`) is applied after every migrate by `realtime.capture.sync_triggers`.
"""

from django.db import migrations, models

from realtime.capture import CAPTURE_FUNCTION, DROP_CAPTURE_FUNCTION


class Migration(migrations.Migration):
    initial = True
    dependencies: list = []

    operations = [
        migrations.CreateModel(
            name="PendingChange",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("txid", models.BigIntegerField(help_text="the writing transaction (pg_current_xact_id)")),
                ("table_name", models.TextField()),
                ("op", models.TextField()),
                ("rows", models.JSONField(help_text="[[record, old_record], ...] without the policy's `never` columns")),
                ("written_at", models.DateTimeField()),
            ],
            options={"db_table": "realtime_pending_changes",
                     "indexes": [models.Index(fields=["txid"], name="realtime_pending_txid")]},
        ),
        migrations.CreateModel(
            name="ChangeLog",
            fields=[
                ("position", models.BigIntegerField(primary_key=True, serialize=False)),
                ("table_name", models.TextField()),
                ("op", models.TextField()),
                ("committed_at", models.DateTimeField()),
                ("message", models.BinaryField(help_text="the bus message (variants with their audiences), JSON")),
            ],
            options={"db_table": "realtime_change_log",
                     "indexes": [models.Index(fields=["committed_at"], name="realtime_log_committed_at")]},
        ),
        migrations.CreateModel(
            name="RelayState",
            fields=[
                ("id", models.SmallIntegerField(default=1, primary_key=True, serialize=False)),
                ("position", models.BigIntegerField(default=0, help_text="the last position handed on")),
                ("pruned_through", models.BigIntegerField(default=0, help_text="positions up to this one left the log")),
                ("leader", models.TextField(blank=True, default="", help_text="host:pid of the relay holding the lead")),
                ("heartbeat_at", models.DateTimeField(null=True)),
            ],
            options={"db_table": "realtime_relay_state"},
        ),
        # Positions come from a sequence of their own: a test database's flush (TRUNCATE) does not
        # reset it, so positions never repeat for a server process that outlives a flush.
        migrations.RunSQL("CREATE SEQUENCE realtime_position_seq", "DROP SEQUENCE realtime_position_seq"),
        migrations.RunSQL(CAPTURE_FUNCTION, DROP_CAPTURE_FUNCTION),
    ]
