"""The seed's database-side rules for agents: ON DELETE actions and updated_at triggers."""

from django.db import migrations

from echelon.db.operations import ForeignKeyOnDelete, UpdatedAtTrigger


class Migration(migrations.Migration):
    dependencies = [("agents", "0001_initial")]

    operations = [
        UpdatedAtTrigger("agents"),
        ForeignKeyOnDelete("agents", "created_by", "users", "CASCADE"),
        ForeignKeyOnDelete("agents", "team_id", "teams", "SET NULL"),
        ForeignKeyOnDelete("agent_templates", "created_by", "users", "SET NULL"),
    ]
