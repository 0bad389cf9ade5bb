"""Access policy for agents and agent templates (see the policy table in README.md)."""

from __future__ import annotations

from django.db.models import Q

from agents.models import Agent, AgentTemplate
from echelon.columns import Columns
from accounts.memberships import MANAGER_ROLES, in_member_teams
from echelon.policy import Audience, RowPolicy, RowTopicPolicy, ids, register, register_topic, row_values


def agent_readers(user, prefix: str = "") -> Q:
    """Seed: the owner, and any member of the agent's team. `prefix` reaches an agent via a FK."""
    return Q(**{f"{prefix}created_by": user.pk}) | in_member_teams(f"{prefix}team_id", user)


def agent_writers(user, prefix: str = "") -> Q:
    """Seed: the owner. Extension: the team's admins and agent managers."""
    return Q(**{f"{prefix}created_by": user.pk}) | in_member_teams(f"{prefix}team_id", user, MANAGER_ROLES)


@register
class AgentPolicy(RowPolicy):
    model = Agent
    # created_by is the owner: set from the creating user, changed only by an operator.
    columns = Columns(
        writable={"name", "description", "type", "status", "config", "deployment_config", "team_id"},
        operator_writable={"created_by"},
    )

    def readers(self, user) -> Q:
        return agent_readers(user)

    def writers(self, user) -> Q:
        return agent_writers(user)

    def deleters(self, user) -> Q:
        return Q(created_by=user.pk)

    def audience(self, row) -> Audience:
        return Audience(user_ids=ids(row.created_by_id), team_ids=ids(row.team_id))


@register_topic
class AgentTopicPolicy(RowTopicPolicy):
    """Private realtime channels `agent:<id>` (an agent page's viewers): the agent's readers
    join and track presence, its writers broadcast."""

    prefix = "agent"
    model = Agent


@register
class AgentTemplatePolicy(RowPolicy):
    """Public templates for every signed-in user; private ones for their creator."""

    model = AgentTemplate
    columns = Columns(
        writable={"name", "description", "type", "default_config", "is_public"},
        operator_writable={"created_by"},
    )

    def readers(self, user) -> Q:
        return Q(is_public=True) | Q(created_by=user.pk)

    def writers(self, user) -> Q:
        return Q(created_by=user.pk)

    def audience(self, row) -> Audience:
        return Audience(user_ids=ids(row.created_by_id), everyone=bool(row.is_public))


def agent_audience(agent_id) -> Audience:
    """Readers of everything that belongs to an agent: its owner and its team (one query)."""
    row = row_values(Agent, agent_id, "created_by_id", "team_id")  # also an agent deleted by this change
    if row is None:
        return Audience()
    return Audience(user_ids=ids(row["created_by_id"]), team_ids=ids(row["team_id"]))


class ThroughAgentPolicy(RowPolicy):
    """Rows that belong to an agent reached by `agent_path` follow the agent's policy
    (deployments, workflows, executions, thoughts, metrics)."""

    agent_path = "agent__"
    readable_relations = ("agent",)

    def readers(self, user) -> Q:
        return agent_readers(user, self.agent_path)

    def writers(self, user) -> Q:
        return agent_writers(user, self.agent_path)

    def agent_id_of(self, row):
        return row.agent_id

    def audience(self, row) -> Audience:
        return agent_audience(self.agent_id_of(row))

    def audience_key(self, row):
        agent_id = getattr(row, "agent_id", None)
        return None if agent_id is None else ("agent", agent_id)
