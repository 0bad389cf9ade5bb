"""Reads of agents for a user, shaped for the hot API paths (plain rows, no serializer)."""

from __future__ import annotations

from django.db.models import OuterRef, QuerySet, Subquery
from django.db.models.functions import JSONObject

from agents.models import Agent
from echelon.policy import policy_for
from workflows.models import Deployment, Workflow

# Columns of an agent as the API shows them: (output name, ORM column).
AGENT_COLUMNS = (
    ("id", "id"),
    ("name", "name"),
    ("description", "description"),
    ("type", "type"),
    ("status", "status"),
    ("config", "config"),
    ("deployment_config", "deployment_config"),
    ("created_by", "created_by_id"),
    ("team", "team_id"),
    ("last_activity", "last_activity"),
    ("created_at", "created_at"),
    ("updated_at", "updated_at"),
)
AGENT_NAMES = tuple(name for name, _ in AGENT_COLUMNS)
AGENT_FIELDS = tuple(column for _, column in AGENT_COLUMNS)


def agent_rows(queryset: QuerySet, *, extra: tuple[str, ...] = ()) -> list[dict]:
    """Agents of `queryset` as API dicts, read with one `values_list` query."""
    names = AGENT_NAMES + extra
    return [dict(zip(names, row)) for row in queryset.values_list(*AGENT_FIELDS, *extra)]


def agent_dashboard(*, user) -> list[dict]:
    """The seed's "efficient agent dashboard query" for every agent `user` may read.

    Each agent with `latest_deployment` ({status, deployed_at} of its newest deployment, or
    null) and `latest_workflow` ({execution_count, success_count, error_count} of its newest
    workflow, or null), newest `updated_at` first. One SQL query: PostgreSQL builds the two
    nested objects with correlated `LIMIT 1` subqueries (the seed's LATERAL joins).
    """
    latest_deployment = (
        Deployment.objects.filter(agent=OuterRef("pk"))
        .order_by("-created_at")
        .values(json=JSONObject(status="status", deployed_at="deployed_at"))[:1]
    )
    latest_workflow = (
        Workflow.objects.filter(agent=OuterRef("pk"))
        .order_by("-created_at")
        .values(
            json=JSONObject(
                execution_count="execution_count", success_count="success_count", error_count="error_count"
            )
        )[:1]
    )
    queryset = (
        policy_for(Agent)
        .visible_to(user)
        .order_by("-updated_at", "id")
        .annotate(latest_deployment=Subquery(latest_deployment), latest_workflow=Subquery(latest_workflow))
    )
    return agent_rows(queryset, extra=("latest_deployment", "latest_workflow"))
