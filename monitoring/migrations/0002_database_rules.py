"""The seed's database-side rules for monitoring: ON DELETE actions."""

from django.db import migrations

from echelon.db.operations import ForeignKeyOnDelete


class Migration(migrations.Migration):
    dependencies = [("monitoring", "0001_initial")]

    operations = [
        ForeignKeyOnDelete("agent_metrics", "agent_id", "agents", "CASCADE"),
        ForeignKeyOnDelete("api_usage", "user_id", "users", "CASCADE"),
        ForeignKeyOnDelete("api_usage", "agent_id", "agents", "SET NULL"),
    ]
