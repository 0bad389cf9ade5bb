"""The seed's database-side rules for accounts: ON DELETE actions and updated_at triggers."""

from django.db import migrations

from echelon.db.operations import ForeignKeyOnDelete, UpdatedAtTrigger


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]

    operations = [
        UpdatedAtTrigger("users"),
        UpdatedAtTrigger("teams"),
        ForeignKeyOnDelete("user_roles", "user_id", "users", "CASCADE"),
        ForeignKeyOnDelete("user_roles", "team_id", "teams", "CASCADE"),
        ForeignKeyOnDelete("user_roles", "granted_by", "users", "SET NULL"),
        ForeignKeyOnDelete("teams", "created_by", "users", "SET NULL"),
    ]
