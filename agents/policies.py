"""Access policy for agents and agent templates (see the policy table in README.md)."""

from __future__ import annotations

from django.db.models import Q

from agents.models import Agent, AgentTemplate
from echelon.columns import Columns
from echelon.policy import MANAGER_ROLES, Audience, RowPolicy, _ids, in_member_teams, register


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
        return Audience(user_ids=_ids(row.created_by_id), team_ids=_ids(row.team_id))


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
        return Audience(user_ids=_ids(row.created_by_id), everyone=bool(row.is_public))
