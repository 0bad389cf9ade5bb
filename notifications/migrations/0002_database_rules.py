"""The seed's database-side rules for notifications: ON DELETE actions."""

from django.db import migrations

from echelon.db.operations import ForeignKeyOnDelete


class Migration(migrations.Migration):
    dependencies = [("notifications", "0001_initial")]

    operations = [
        ForeignKeyOnDelete("notifications", "user_id", "users", "CASCADE"),
        ForeignKeyOnDelete("agent_thoughts", "agent_id", "agents", "CASCADE"),
    ]
