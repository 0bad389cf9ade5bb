"""Reads that join agents with their deployments and workflows (the dashboard).

Here, not in agents: agents sit below workflows (the layers contract, .importlinter).
"""

from __future__ import annotations

from django.db.models import OuterRef, Subquery
from django.db.models.functions import JSONObject

from agents.models import Agent
from agents.selectors import AgentRows
from echelon.db.models import IsoUtc
from echelon.policy import policy_for
from workflows.models import Deployment, Workflow


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
        .values(json=JSONObject(status="status", deployed_at=IsoUtc("deployed_at")))[:1]
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
    queryset = policy_for(Agent).visible_to(user).order_by("-updated_at", "id")
    return AgentRows(
        queryset, latest_deployment=Subquery(latest_deployment), latest_workflow=Subquery(latest_workflow)
    ).all()
