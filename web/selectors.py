"""Reads behind the web pages. Every one starts from the model's row policy, so a page shows
exactly what the REST API would show the same user; query counts stay constant as rows grow."""

from __future__ import annotations

from datetime import datetime, timedelta

import orjson
from django.db.models import Count
from django.shortcuts import get_object_or_404
from django.utils import timezone

from accounts.models import Team, User
from accounts.selectors import teams_managed_by
from agents.models import Agent, AgentStatus, AgentTemplate, AgentType
from echelon.policy import policy_for
from monitoring.models import AgentMetric, MetricType
from monitoring.selectors import agent_metric_aggregates
from notifications.models import Notification
from workflows.selectors import agent_dashboard
from workflows.services.thoughts import execution_mind_map
from workflows.models import Deployment, Workflow, WorkflowExecution

DASHBOARD_FILTERS = ("status", "type", "team")
RECENT_EXECUTIONS = 20
CHART_WINDOW = timedelta(hours=24)


def _when(value):
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def unread_count(*, user) -> int:
    return policy_for(Notification).visible_to(user).unexpired().unread().count()


def dashboard_rows(*, user) -> list[dict]:
    """The dashboard endpoint's rows (`workflows.selectors.agent_dashboard`, one query) with the
    team's name and `editable` (the user may activate / pause / deploy it), two more queries."""
    # The selector embeds jsonb as orjson fragments; one encode/decode gives plain values.
    rows = orjson.loads(orjson.dumps(agent_dashboard(user=user)))
    ids = [row["id"] for row in rows]
    editable = {str(pk) for pk in policy_for(Agent).editable_by(user).filter(pk__in=ids).values_list("pk", flat=True)}
    team_ids = {row["team"] for row in rows if row["team"]}
    # Names of the teams the user may read; an owner's agent in a team they are not in shows none.
    names = {
        str(pk): name
        for pk, name in policy_for(Team).visible_to(user).filter(pk__in=team_ids).values_list("pk", "name")
    } if team_ids else {}
    for row in rows:
        row["editable"] = row["id"] in editable
        row["team_name"] = names.get(row["team"] or "", "")
        row["updated_at"] = _when(row["updated_at"])
        if row["latest_deployment"]:
            row["latest_deployment"]["deployed_at"] = _when(row["latest_deployment"]["deployed_at"])
    return rows


def new_agent_choices(*, user) -> dict:
    """What the dashboard's "New agent" form offers: the types, the templates the user may read
    (public ones and their own), and the teams where they may create agents."""
    templates = policy_for(AgentTemplate).visible_to(user).order_by("name").values("id", "name", "type")[:100]
    teams = teams_managed_by(user).order_by("name").values("id", "name")
    return {"types": AgentType.choices, "templates": list(templates), "teams": list(teams)}


def dashboard_filter_choices(rows: list[dict]) -> dict:
    teams = sorted({(row["team"], row["team_name"]) for row in rows if row["team"]}, key=lambda t: t[1])
    return {"status": AgentStatus.choices, "type": AgentType.choices, "team": teams}


def agent_page(*, user, pk) -> dict:
    """An agent readable by `user` (404 otherwise) with its deployments, workflows, recent
    executions and the metric types it has recorded."""
    agent = get_object_or_404(policy_for(Agent).visible_to(user), pk=pk)
    # Team and owner are named only when their own policies let the user read them.
    team = policy_for(Team).visible_to(user).filter(pk=agent.team_id).values_list("name", flat=True).first() \
        if agent.team_id else None
    owner = policy_for(User).visible_to(user).filter(pk=agent.created_by_id).values_list("email", flat=True).first() \
        if agent.created_by_id else None
    deployments = policy_for(Deployment).visible_to(user).filter(agent=agent).order_by("-version")[:20]
    workflows = policy_for(Workflow).visible_to(user).filter(agent=agent).order_by("-created_at")
    executions = (
        policy_for(WorkflowExecution).visible_to(user).filter(workflow__agent=agent)
        .select_related("workflow").annotate(thought_count=Count("thoughts")).order_by("-started_at")
        [:RECENT_EXECUTIONS]
    )
    metric_series = list(
        policy_for(AgentMetric).visible_to(user).filter(agent=agent).order_by("metric_type")
        .values_list("metric_type", "unit").distinct()
    )
    deployments = list(deployments)
    return {
        "agent": agent,
        "next_version": (max((d.version for d in deployments), default=0)) + 1,
        "live_deployment": next((d for d in deployments if d.status == "deployed"), None),
        "team_name": team,
        "owner_email": owner,
        "editable": policy_for(Agent).editable_by(user).filter(pk=agent.pk).exists(),
        "deployments": deployments,
        "workflows": list(workflows),
        "executions": list(executions),
        "metric_series": metric_series,
    }


def agent_charts(*, user, agent, metric_series) -> list[dict]:
    """The last 24 hours of each metric type, hourly, from the aggregate endpoint's selector."""
    until = timezone.now()
    since = until - CHART_WINDOW
    charts, seen = [], set()
    for metric_type, unit in metric_series:
        if metric_type in seen:  # one series per type even if its unit ever changed
            continue
        seen.add(metric_type)
        buckets = agent_metric_aggregates(user=user, metric_type=metric_type, bucket="hour", since=since,
                                          until=until, agent_id=agent.pk)
        charts.append({"metric_type": metric_type, "label": MetricType(metric_type).label, "unit": unit or "",
                       "buckets": buckets})
    return charts


def execution_page(*, user, pk) -> dict:
    """An execution readable by `user` (404 otherwise) and its thoughts as a flat list."""
    execution = get_object_or_404(
        policy_for(WorkflowExecution).visible_to(user).select_related("workflow__agent"), pk=pk
    )
    flat, stack = [], list(reversed(execution_mind_map(execution_id=execution.pk)))
    while stack:  # depth-first, parents before children, in the selector's order
        node = stack.pop()
        children = node.pop("children")
        flat.append(node)
        stack.extend(reversed(children))
    return {"execution": execution, "thoughts": flat}


def notification_page(*, user):
    return policy_for(Notification).visible_to(user).unexpired().order_by("-created_at", "-id")
