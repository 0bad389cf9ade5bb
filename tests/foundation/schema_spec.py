"""The seed schema as data: the literal expectation the schema tests check PostgreSQL against,
and a small parser of the seed document (`../shared/seed/000_*.txt`) to check the literal.

Deviations from the seed (docs/api.md) are written here
explicitly, next to the seed's own values, so each one is a deliberate line.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]

# table → column → (type, nullable, default). Types use the seed's spelling.
SEED_COLUMNS: dict[str, dict[str, tuple[str, bool, str | None]]] = {
    "users": {
        "id": ("UUID", False, None),
        "email": ("VARCHAR(255)", False, None),
        "full_name": ("VARCHAR(255)", True, None),
        "avatar_url": ("TEXT", True, None),
        "subscription_tier": ("VARCHAR(50)", True, "'free'"),
        "created_at": ("TIMESTAMPTZ", True, "now()"),
        "updated_at": ("TIMESTAMPTZ", True, "now()"),
    },
    "user_roles": {
        "id": ("UUID", False, "gen_random_uuid()"),
        "user_id": ("UUID", True, None),
        "role": ("VARCHAR(50)", False, None),
        "team_id": ("UUID", True, None),
        "granted_by": ("UUID", True, None),
        "granted_at": ("TIMESTAMPTZ", True, "now()"),
    },
    "teams": {
        "id": ("UUID", False, "gen_random_uuid()"),
        "name": ("VARCHAR(255)", False, None),
        "slug": ("VARCHAR(100)", False, None),
        "plan": ("VARCHAR(50)", True, "'starter'"),
        "created_by": ("UUID", True, None),
        "created_at": ("TIMESTAMPTZ", True, "now()"),
        "updated_at": ("TIMESTAMPTZ", True, "now()"),
    },
    "agents": {
        "id": ("UUID", False, "gen_random_uuid()"),
        "name": ("VARCHAR(255)", False, None),
        "description": ("TEXT", True, None),
        "type": ("VARCHAR(100)", False, None),
        "status": ("VARCHAR(50)", True, "'inactive'"),
        "config": ("JSONB", False, "'{}'::jsonb"),
        "deployment_config": ("JSONB", True, "'{}'::jsonb"),
        "created_by": ("UUID", True, None),
        "team_id": ("UUID", True, None),
        "created_at": ("TIMESTAMPTZ", True, "now()"),
        "updated_at": ("TIMESTAMPTZ", True, "now()"),
        "last_activity": ("TIMESTAMPTZ", True, None),
    },
    "agent_templates": {
        "id": ("UUID", False, "gen_random_uuid()"),
        "name": ("VARCHAR(255)", False, None),
        "description": ("TEXT", True, None),
        "type": ("VARCHAR(100)", False, None),
        "default_config": ("JSONB", False, None),
        "is_public": ("BOOLEAN", True, "false"),
        "created_by": ("UUID", True, None),
        "created_at": ("TIMESTAMPTZ", True, "now()"),
    },
    "deployments": {
        "id": ("UUID", False, "gen_random_uuid()"),
        "agent_id": ("UUID", True, None),
        "version": ("INTEGER", False, "1"),
        "status": ("VARCHAR(50)", True, "'pending'"),
        "trigger_type": ("VARCHAR(100)", True, None),
        "trigger_config": ("JSONB", True, "'{}'::jsonb"),
        "deployment_url": ("TEXT", True, None),
        "error_message": ("TEXT", True, None),
        "deployed_at": ("TIMESTAMPTZ", True, None),
        "stopped_at": ("TIMESTAMPTZ", True, None),
        "created_at": ("TIMESTAMPTZ", True, "now()"),
    },
    "workflows": {
        "id": ("UUID", False, "gen_random_uuid()"),
        "agent_id": ("UUID", True, None),
        "name": ("VARCHAR(255)", False, None),
        "description": ("TEXT", True, None),
        "n8n_workflow_id": ("VARCHAR(255)", True, None),
        "trigger_config": ("JSONB", True, "'{}'::jsonb"),
        "status": ("VARCHAR(50)", True, "'inactive'"),
        "last_execution": ("TIMESTAMPTZ", True, None),
        "next_execution": ("TIMESTAMPTZ", True, None),
        "execution_count": ("INTEGER", True, "0"),
        "success_count": ("INTEGER", True, "0"),
        "error_count": ("INTEGER", True, "0"),
        "created_at": ("TIMESTAMPTZ", True, "now()"),
        "updated_at": ("TIMESTAMPTZ", True, "now()"),
    },
    "workflow_executions": {
        "id": ("UUID", False, "gen_random_uuid()"),
        "workflow_id": ("UUID", True, None),
        "execution_id": ("VARCHAR(255)", True, None),
        "status": ("VARCHAR(50)", True, None),
        "input_data": ("JSONB", True, None),
        "output_data": ("JSONB", True, None),
        "error_data": ("JSONB", True, None),
        "execution_time_ms": ("INTEGER", True, None),
        "started_at": ("TIMESTAMPTZ", True, "now()"),
        "completed_at": ("TIMESTAMPTZ", True, None),
    },
    "notifications": {
        "id": ("UUID", False, "gen_random_uuid()"),
        "user_id": ("UUID", True, None),
        "type": ("VARCHAR(100)", False, None),
        "title": ("VARCHAR(255)", False, None),
        "message": ("TEXT", False, None),
        "data": ("JSONB", True, "'{}'::jsonb"),
        "priority": ("VARCHAR(20)", True, "'medium'"),
        "read_at": ("TIMESTAMPTZ", True, None),
        "expires_at": ("TIMESTAMPTZ", True, None),
        "created_at": ("TIMESTAMPTZ", True, "now()"),
    },
    "agent_thoughts": {
        "id": ("UUID", False, "gen_random_uuid()"),
        "agent_id": ("UUID", True, None),
        "execution_id": ("UUID", True, None),
        "node_id": ("VARCHAR(100)", False, None),
        "node_type": ("VARCHAR(50)", False, None),
        "content": ("TEXT", False, None),
        "metadata": ("JSONB", True, "'{}'::jsonb"),
        "parent_node_id": ("VARCHAR(100)", True, None),
        "confidence_score": ("DECIMAL(3,2)", True, None),
        "processing_time_ms": ("INTEGER", True, None),
        "created_at": ("TIMESTAMPTZ", True, "now()"),
    },
    "agent_metrics": {
        "id": ("UUID", False, "gen_random_uuid()"),
        "agent_id": ("UUID", True, None),
        "metric_type": ("VARCHAR(100)", False, None),
        "value": ("DECIMAL(10,4)", False, None),
        "unit": ("VARCHAR(50)", True, None),
        "metadata": ("JSONB", True, "'{}'::jsonb"),
        "recorded_at": ("TIMESTAMPTZ", True, "now()"),
    },
    "api_usage": {
        "id": ("UUID", False, "gen_random_uuid()"),
        "user_id": ("UUID", True, None),
        "agent_id": ("UUID", True, None),
        "endpoint": ("VARCHAR(255)", False, None),
        "method": ("VARCHAR(10)", False, None),
        "status_code": ("INTEGER", False, None),
        "response_time_ms": ("INTEGER", True, None),
        "cost_usd": ("DECIMAL(8,4)", True, None),
        "created_at": ("TIMESTAMPTZ", True, "now()"),
    },
}

# Deviations on seed columns (README): users is Django's user model with its own UUID default.
COLUMN_DEVIATIONS = {("users", "id"): ("UUID", False, "gen_random_uuid()")}
# Columns not in the seed: Django auth's on users (password defaults to the unusable '!'), and
# the per-workflow HMAC secret of the n8n callback.
EXTRA_COLUMNS = {
    "workflows": {"webhook_secret": ("VARCHAR(255)", True, None)},
    # issue 18: what the reconciler did; executions keyed by (n8n workflow, id), rows n8n lost
    "deployments": {"reconcile_note": ("TEXT", True, None)},
    "workflow_executions": {"n8n_workflow_id": ("VARCHAR(255)", False, "''"),
                            "missing_at": ("TIMESTAMPTZ", True, None)},
    "users": {
        "password": ("VARCHAR(128)", False, "'!'"),
        "last_login": ("TIMESTAMPTZ", True, None),
        "is_superuser": ("BOOLEAN", False, "false"),
        "is_active": ("BOOLEAN", False, "true"),
        "is_staff": ("BOOLEAN", False, "false"),
    }
}

# (table, column) → (referenced table, ON DELETE). "seed" = stated by the seed; "ours" = the
# seed says nothing, our documented choice.
FOREIGN_KEYS = {
    ("user_roles", "user_id"): ("users", "CASCADE", "seed"),
    ("user_roles", "team_id"): ("teams", "CASCADE", "ours"),
    ("user_roles", "granted_by"): ("users", "SET NULL", "ours"),
    ("teams", "created_by"): ("users", "SET NULL", "ours"),
    ("agents", "created_by"): ("users", "CASCADE", "seed"),
    ("agents", "team_id"): ("teams", "SET NULL", "ours"),
    ("agent_templates", "created_by"): ("users", "SET NULL", "ours"),
    ("deployments", "agent_id"): ("agents", "CASCADE", "seed"),
    ("workflows", "agent_id"): ("agents", "CASCADE", "seed"),
    ("workflow_executions", "workflow_id"): ("workflows", "CASCADE", "seed"),
    ("notifications", "user_id"): ("users", "CASCADE", "seed"),
    ("agent_thoughts", "agent_id"): ("agents", "CASCADE", "seed"),
    # PostgreSQL: NO ACTION (checked at commit); Django: RESTRICT. Thoughts are history.
    ("agent_thoughts", "execution_id"): ("workflow_executions", "NO ACTION", "ours"),
    ("agent_metrics", "agent_id"): ("agents", "CASCADE", "seed"),
    ("api_usage", "user_id"): ("users", "CASCADE", "seed"),
    ("api_usage", "agent_id"): ("agents", "SET NULL", "seed"),
}

# (table, column) → the closed list PostgreSQL accepts. The seed's values are a subset (its
# lists marked "e.g." in the issue are open; we closed them, see README).
ENUMERATIONS = {
    ("users", "subscription_tier"): {"free", "pro", "enterprise"},
    ("teams", "plan"): {"starter", "pro", "enterprise"},
    ("user_roles", "role"): {"admin", "agent_manager", "viewer"},
    ("agents", "type"): {"market", "websearch", "media", "alarm"},
    ("agents", "status"): {"active", "paused", "error", "inactive"},
    ("agent_templates", "type"): {"market", "websearch", "media", "alarm"},
    # + issue 18's passing states of the queue's worker and the reconciler
    ("deployments", "status"): {"pending", "deploying", "deployed", "failed", "stopped", "stopping", "unknown"},
    ("deployments", "trigger_type"): {"manual", "config_change", "scheduled"},
    ("workflows", "status"): {"active", "paused", "error", "inactive"},
    ("workflow_executions", "status"): {"running", "success", "error", "waiting"},
    ("notifications", "type"): {"agent_status_change", "agent_error", "deployment_success",
                                "deployment_failed", "rate_limit_warning", "team_membership", "system"},
    ("notifications", "priority"): {"low", "medium", "high", "critical"},
    ("agent_thoughts", "node_type"): {"input", "processing", "action", "output"},
    ("agent_metrics", "metric_type"): {"response_time", "accuracy", "cost", "success_rate", "error_rate",
                                       "tokens", "throughput"},
    ("agent_metrics", "unit"): {"ms", "usd", "percent", "count", "per_minute"},
}

# index name → (table, columns as PostgreSQL prints them, WHERE clause or None).
SEED_INDEXES = {
    "idx_agents_created_by": ("agents", "created_by", None),
    "idx_agents_team_id": ("agents", "team_id", None),
    "idx_agents_type": ("agents", "type", None),
    "idx_agents_status": ("agents", "status", None),
    "idx_deployments_agent_id": ("deployments", "agent_id", None),
    "idx_deployments_status": ("deployments", "status", None),
    "idx_workflow_executions_workflow_id": ("workflow_executions", "workflow_id", None),
    "idx_workflow_executions_status": ("workflow_executions", "status", None),
    "idx_workflow_executions_started_at": ("workflow_executions", "started_at", None),
    "idx_notifications_user_id": ("notifications", "user_id", None),
    "idx_notifications_created_at": ("notifications", "created_at", None),
    "idx_notifications_priority": ("notifications", "priority", None),
    "idx_agent_thoughts_agent_id": ("agent_thoughts", "agent_id", None),
    "idx_agent_thoughts_execution_id": ("agent_thoughts", "execution_id", None),
    "idx_agent_thoughts_created_at": ("agent_thoughts", "created_at", None),
    "idx_agent_metrics_agent_id": ("agent_metrics", "agent_id", None),
    "idx_agent_metrics_type": ("agent_metrics", "metric_type", None),
    "idx_agent_metrics_recorded_at": ("agent_metrics", "recorded_at", None),
    "idx_api_usage_user_id": ("api_usage", "user_id", None),
    "idx_api_usage_agent_id": ("api_usage", "agent_id", None),
    "idx_api_usage_created_at": ("api_usage", "created_at", None),
    "idx_agents_user_status": ("agents", "created_by, status", None),
    "idx_deployments_agent_status": ("deployments", "agent_id, status", None),
    "idx_workflow_executions_workflow_status": ("workflow_executions", "workflow_id, status", None),
    "idx_active_agents": ("agents", "created_by", "status = 'active'"),
    "idx_unread_notifications": ("notifications", "user_id, created_at", "read_at IS NULL"),
}

# Unique constraints we add (README): natural keys the API and n8n ingestion rely on.
EXTRA_UNIQUE = {
    "deployments_agent_version_unique": ("deployments", ("agent_id", "version")),
    "workflow_executions_workflow_n8n_execution_unique": ("workflow_executions", ("workflow_id", "n8n_workflow_id", "execution_id")),
    "agent_thoughts_execution_node_unique": ("agent_thoughts", ("execution_id", "node_id")),
    "user_roles_user_team_unique": ("user_roles", ("user_id", "team_id")),
}


def seed_file() -> Path:
    """The seed document: `ECHELON_SEED_DIR`, else `shared/seed/` beside the repository, else
    the copy recorded in `tests/fixtures/seed/` (a clone on its own still checks the schema).
    A shared seed that differs from the recorded copy is an error: refresh the copy."""
    shared = []
    if os.environ.get("ECHELON_SEED_DIR"):
        shared.append(Path(os.environ["ECHELON_SEED_DIR"]))
    shared += [parent / "shared" / "seed" for parent in REPO_ROOT.parents]
    recorded = REPO_ROOT / "tests" / "fixtures" / "seed"
    found = [_seed_in(folder) for folder in (*shared, recorded)]
    found = [path for path in found if path is not None]
    if not found:
        raise FileNotFoundError(
            "The seed document (shared/seed/000_*.txt) was not found beside the repository "
            f"(looked in {', '.join(str(c) for c in (*shared, recorded))}); set ECHELON_SEED_DIR to its folder."
        )
    copy = _seed_in(recorded)
    if copy is not None and found[0] != copy and found[0].read_bytes() != copy.read_bytes():
        raise ValueError(f"{found[0]} differs from its recorded copy {copy}: copy it over")
    return found[0]


def _seed_in(folder: Path) -> Path | None:
    found = sorted(folder.glob("000_*.txt")) if folder.is_dir() else []
    return found[0] if found else None


_COLUMN = re.compile(r"^\s*(\w+)\s+(UUID|VARCHAR\(\d+\)|TEXT|JSONB|TIMESTAMPTZ|INTEGER|DECIMAL\(\d+,\d+\)|BOOLEAN)(?!\w)(.*)$")


def parse_seed(text: str):
    """Tables (column → type, nullable, default), FKs and index names from the seed's SQL."""
    tables: dict[str, dict[str, tuple[str, bool, str | None]]] = {}
    fks: dict[tuple[str, str], tuple[str, str | None]] = {}
    indexes: dict[str, tuple[str, str, str | None]] = {}
    for block in re.finditer(r"CREATE TABLE (?:public\.)?(\w+) \((.*?)\n\);", text, re.S):
        table, body = block.group(1), block.group(2)
        columns = tables.setdefault(table, {})
        for line in body.splitlines():
            line = line.split("--")[0].rstrip().rstrip(",")
            index = re.match(r"^\s*INDEX (\w+) \(([^)]*)\)", line)
            if index:
                indexes[index.group(1)] = (table, index.group(2), None)
                continue
            match = _COLUMN.match(line)
            if not match:
                continue
            name, sql_type, rest = match.groups()
            nullable = "NOT NULL" not in rest and "PRIMARY KEY" not in rest
            default = re.search(r"DEFAULT (\S+)", rest)
            value = default.group(1) if default else None
            if value == "NOW()":
                value = "now()"
            elif value == "'{}'" and sql_type == "JSONB":
                value = "'{}'::jsonb"
            columns[name] = (sql_type, nullable, value)
            ref = re.search(r"REFERENCES (?:auth\.)?(\w+)\(id\)(?: ON DELETE (CASCADE|SET NULL))?", rest)
            if ref and "auth.users" not in rest:
                fks[(table, name)] = (ref.group(1), ref.group(2))
    for match in re.finditer(r"CREATE INDEX (\w+) ON (\w+)\(([^)]*)\)(?: WHERE ([^;]+))?;", text):
        indexes[match.group(1)] = (match.group(2), match.group(3), match.group(4))
    return tables, fks, indexes
