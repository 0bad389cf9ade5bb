"""The seed's database-side rules for workflows: ON DELETE actions and updated_at triggers."""

from django.db import migrations

from echelon.db.operations import ForeignKeyOnDelete, UpdatedAtTrigger


class Migration(migrations.Migration):
    dependencies = [("workflows", "0001_initial")]

    operations = [
        UpdatedAtTrigger("workflows"),
        ForeignKeyOnDelete("deployments", "agent_id", "agents", "CASCADE"),
        ForeignKeyOnDelete("workflows", "agent_id", "agents", "CASCADE"),
        ForeignKeyOnDelete("workflow_executions", "workflow_id", "workflows", "CASCADE"),
    ]
