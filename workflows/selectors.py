"""Reads that join agents with their deployments and workflows (the dashboard).

Here, not in agents: agents sit below workflows (the layers contract, .importlinter).
"""

from __future__ import annotations

from django.db.models import OuterRef, Subquery

from agents.models import Agent
from agents.selectors import AgentRows, fetch_rows
from echelon.db.models import IsoUtc, JsonText
from echelon.db.sqlmemo import compile_for_user
from echelon.policy import is_signed_in, policy_for
from workflows.models import Deployment, Workflow


def agent_dashboard(*, user) -> list[dict]:
    """The seed's "efficient agent dashboard query" for every agent `user` may read.

    Each agent with `latest_deployment` ({status, deployed_at} of its newest deployment, or
    null) and `latest_workflow` ({execution_count, success_count, error_count} of its newest
    workflow, or null), newest `updated_at` first. One SQL query: PostgreSQL builds the two
    nested objects with correlated `LIMIT 1` subqueries (the seed's LATERAL joins). Its SQL is
    compiled once per process and kind of user (`echelon.db.sqlmemo`, as the agent list's page):
    building it through the ORM was a quarter of the request's Python time.
    """
    rows = dashboard_rows(user)
    if not is_signed_in(user):
        return rows.all()
    sql, params = compile_for_user(("agents.dashboard", bool(user.is_superuser)), user, lambda: rows.queryset)
    return rows.dicts(fetch_rows(sql, params))


def dashboard_rows(user) -> AgentRows:
    """The dashboard's rows for `user`; the queryset and its subqueries are built only when asked
    for (building the two subqueries was ~0.3 ms per request, for SQL already memoized)."""
    def build():
        return policy_for(Agent).visible_to(user).order_by("-updated_at", "id")

    def latest_deployment():
        return Subquery(
            Deployment.objects.filter(agent=OuterRef("pk"))
            .order_by("-created_at")
            .values(json=JsonText(status="status", deployed_at=IsoUtc("deployed_at")))[:1]
        )

    def latest_workflow():
        return Subquery(
            Workflow.objects.filter(agent=OuterRef("pk"))
            .order_by("-created_at")
            .values(json=JsonText(
                execution_count="execution_count", success_count="success_count", error_count="error_count"))[:1]
        )

    return AgentRows(build, user=user, latest_deployment=latest_deployment, latest_workflow=latest_workflow)
