"""Migration operations for what Django's schema editor does not express: the seed's
`updated_at` triggers and ON DELETE actions enforced by PostgreSQL itself."""

from __future__ import annotations

from django.db import migrations

UPDATED_AT_FUNCTION = """
CREATE OR REPLACE FUNCTION update_updated_at_column() RETURNS trigger AS $$
BEGIN
  -- Writers that set updated_at themselves (Django) keep their value; others get now().
  IF NEW.updated_at IS NOT DISTINCT FROM OLD.updated_at THEN
    NEW.updated_at = now();
  END IF;
  RETURN NEW;
END;
$$ LANGUAGE plpgsql;
"""


def UpdatedAtTrigger(table: str) -> migrations.RunSQL:
    """The seed's `update_<table>_updated_at` BEFORE UPDATE trigger."""
    name = f"update_{table}_updated_at"
    return migrations.RunSQL(
        sql=[
            UPDATED_AT_FUNCTION,
            f"DROP TRIGGER IF EXISTS {name} ON {table};",
            f"CREATE TRIGGER {name} BEFORE UPDATE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();",
        ],
        reverse_sql=[f"DROP TRIGGER IF EXISTS {name} ON {table};"],
    )


def ForeignKeyOnDelete(table: str, column: str, target: str, action: str) -> migrations.RunSQL:
    """Replace Django's foreign key on `table.column` with one that has ON DELETE `action`.

    Django emulates on_delete in Python and creates its constraints without an action; the seed
    wants the database to cascade too (rows deleted by plain SQL). The constraint keeps Django's
    DEFERRABLE INITIALLY DEFERRED so transactions behave as before.
    """
    constraint = f"{table}_{column}_fkey"
    find_and_drop = f"""
DO $$
DECLARE c text;
BEGIN
  FOR c IN
    SELECT con.conname FROM pg_constraint con
    JOIN pg_attribute att ON att.attrelid = con.conrelid AND att.attnum = ANY (con.conkey)
    WHERE con.contype = 'f' AND con.conrelid = '{table}'::regclass AND att.attname = '{column}'
  LOOP
    EXECUTE format('ALTER TABLE {table} DROP CONSTRAINT %I', c);
  END LOOP;
END $$;
"""
    return migrations.RunSQL(
        sql=[
            find_and_drop,
            f"ALTER TABLE {table} ADD CONSTRAINT {constraint} FOREIGN KEY ({column}) "
            f"REFERENCES {target}(id) ON DELETE {action} DEFERRABLE INITIALLY DEFERRED;",
        ],
        reverse_sql=migrations.RunSQL.noop,
    )
