"""Change capture in PostgreSQL: statement-level triggers on every published table.

Each INSERT, UPDATE or DELETE statement, by any writer (the ORM, `queryset.update()`,
`bulk_create`, COPY, psql, n8n's Postgres node), adds ONE `realtime_pending_changes` row in the
writer's own transaction: its rows as a JSON array of `[record, old_record]` pairs read from
the statement's transition tables, minus the columns the policy never shows. A rolled-back write
leaves nothing. The relay (realtime/relay.py) takes those rows once they are committed.
Statement-level with transition tables costs one row per statement, so COPY and bulk writes stay
cheap (figures: docs/realtime.md, "Change capture").

Every statement, TRUNCATE included, also notifies `echelon_changed_<table>` (folded per
transaction, delivered at commit): each process's caches keyed by table versions
(realtime/table_versions.py) drop what a write made stale, whoever wrote it.

Which tables are published is `REALTIME_PUBLISHED_TABLES` (like a Supabase publication); the
triggers follow it and the policies' `never` columns after every `migrate` (`sync_triggers`).
"""

from __future__ import annotations

from django.conf import settings
from django.db import connection

from echelon.policy import policy_for, registered_models

NOTIFY_CHANNEL = "echelon_capture"
# Each statement also notifies its table's channel (folded per transaction, sent at commit):
# the per-process caches keyed by table versions listen there (realtime/table_versions.py).
TABLE_CHANNEL_PREFIX = "echelon_changed_"
_by_table: dict = {}  # table → model, filled from the policy registry on first use
_TRIGGERS = {"INSERT": "echelon_capture_insert", "UPDATE": "echelon_capture_update",
             "DELETE": "echelon_capture_delete", "TRUNCATE": "echelon_capture_truncate"}


def table_channel(table: str) -> str:
    """The channel a statement on `table` notifies (PostgreSQL keeps 63 bytes of a name)."""
    return (TABLE_CHANNEL_PREFIX + table)[:63]

# TG_ARGV[0]: the primary key column; the rest: columns left out of every record.
# Rows are built as `json` (text), not `jsonb`: for a 10,000-row COPY of agent_metrics that
# was 24 ms instead of 61 ms (the binary form is parsed and sorted only for the relay to print
# it as text again). Only a table with `never` columns goes through jsonb, to drop them.
CAPTURE_FUNCTION = f"""
CREATE OR REPLACE FUNCTION echelon_capture() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  hidden text[] := coalesce(TG_ARGV[1:], ARRAY[]::text[]);
BEGIN
  PERFORM pg_notify(left('{TABLE_CHANNEL_PREFIX}' || TG_TABLE_NAME, 63), '');
  IF TG_OP = 'TRUNCATE' THEN  -- no rows to capture: only the caches of the table must know
    RETURN NULL;
  ELSIF TG_OP = 'INSERT' THEN
    INSERT INTO realtime_pending_changes (txid, table_name, op, rows, written_at)
    SELECT pg_current_xact_id()::text::bigint, TG_TABLE_NAME, TG_OP,
           json_agg(json_build_array(CASE WHEN cardinality(hidden) = 0 THEN to_json(n)
                                          ELSE (to_jsonb(n) - hidden)::json END, NULL)), clock_timestamp()
    FROM new_rows n HAVING count(*) > 0;
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO realtime_pending_changes (txid, table_name, op, rows, written_at)
    SELECT pg_current_xact_id()::text::bigint, TG_TABLE_NAME, TG_OP,
           json_agg(json_build_array(NULL, CASE WHEN cardinality(hidden) = 0 THEN to_json(o)
                                                ELSE (to_jsonb(o) - hidden)::json END)), clock_timestamp()
    FROM old_rows o HAVING count(*) > 0;
  ELSE
    EXECUTE format(
      'INSERT INTO realtime_pending_changes (txid, table_name, op, rows, written_at) '
      'SELECT pg_current_xact_id()::text::bigint, $1, $2, '
      '       json_agg(json_build_array(CASE WHEN cardinality($3) = 0 THEN to_json(n) ELSE (to_jsonb(n) - $3)::json END, '
      '                                 CASE WHEN cardinality($3) = 0 THEN to_json(o) ELSE (to_jsonb(o) - $3)::json END)), '
      '       clock_timestamp() '
      'FROM new_rows n JOIN old_rows o ON n.%1$I = o.%1$I HAVING count(*) > 0', TG_ARGV[0])
    USING TG_TABLE_NAME, TG_OP, hidden;
  END IF;
  -- one wake-up per transaction (identical notifications are folded), sent at commit
  PERFORM pg_notify('{NOTIFY_CHANNEL}', '');
  RETURN NULL;
END;
$$;
"""
DROP_CAPTURE_FUNCTION = "DROP FUNCTION IF EXISTS echelon_capture() CASCADE"


def published_models() -> list:
    """The models whose changes are captured, in registry order."""
    tables = published_tables()
    return [model for model in registered_models() if model._meta.db_table in tables]


def published_tables() -> frozenset[str]:
    configured = getattr(settings, "REALTIME_PUBLISHED_TABLES", None)
    if configured is None:
        return frozenset(m._meta.db_table for m in registered_models()) - {"api_usage"}
    return frozenset(configured)


def model_of(table: str):
    """The registered model of `table` (None: no policy has it)."""
    if len(_by_table) != len(registered_models()):
        _by_table.clear()
        _by_table.update({model._meta.db_table: model for model in registered_models()})
    return _by_table.get(table)


def _trigger_sql(model) -> list[str]:
    table = connection.ops.quote_name(model._meta.db_table)
    args = ", ".join(f"'{column}'" for column in
                     [model._meta.pk.column, *sorted(policy_for(model).columns.never)])
    references = {"INSERT": "REFERENCING NEW TABLE AS new_rows ",
                  "UPDATE": "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows ",
                  "DELETE": "REFERENCING OLD TABLE AS old_rows ", "TRUNCATE": ""}
    return [f"CREATE TRIGGER {name} AFTER {op} ON {table} {references[op]}"
            f"FOR EACH STATEMENT EXECUTE FUNCTION echelon_capture({args})"
            for op, name in _TRIGGERS.items()]


def captured_tables(cursor, tables) -> set[str]:
    """Those of `tables` that carry every capture trigger now (so each write to them notifies)."""
    cursor.execute("SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                   "WHERE c.relname = ANY(%s) AND t.tgname = ANY(%s) AND t.tgenabled <> 'D' "
                   "GROUP BY c.relname HAVING count(*) = %s", [list(tables), list(_TRIGGERS.values()), len(_TRIGGERS)])
    return {name for (name,) in cursor.fetchall()}


def sync_triggers(using: str = "default") -> None:
    """Put the capture function and triggers on the published tables (with the current `never`
    columns) and take them off the others. Idempotent; runs after every migrate."""
    from django.db import connections, transaction

    published = {model._meta.db_table for model in published_models()}
    with transaction.atomic(using=using), connections[using].cursor() as cursor:
        cursor.execute(CAPTURE_FUNCTION)  # the function follows the code as the triggers do
        for model in registered_models():
            table = connection.ops.quote_name(model._meta.db_table)
            for name in _TRIGGERS.values():
                cursor.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
            if model._meta.db_table in published:
                for statement in _trigger_sql(model):
                    cursor.execute(statement)


def sync_after_migrate(sender, using="default", plan=None, **kwargs) -> None:
    """post_migrate receiver: once per migrate (sent for every app: only for this one)."""
    if sender.name == "realtime":
        sync_triggers(using)
