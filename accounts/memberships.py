"""Team membership as query parts: the one place that knows the roles and the user_roles table.

Policies of every app build their team rules from these (read by PostgreSQL on every request,
so a lost membership counts at once).
"""

from __future__ import annotations

from django.contrib.postgres.expressions import ArraySubquery
from django.db import models
from django.db.models import F, Func, Q, QuerySet

from accounts.models import Role, UserRole

# Who may put agents in a team and change its agents (the seed's extension of agent writers).
MANAGER_ROLES = (Role.ADMIN.value, Role.AGENT_MANAGER.value)
ADMIN_ROLES = (Role.ADMIN.value,)


def member_team_ids(user, roles: tuple[str, ...] | None = None) -> QuerySet:
    """Subquery of the ids of teams `user` belongs to (optionally with one of `roles`)."""
    rows = UserRole.objects.filter(user_id=user.pk, team_id__isnull=False)
    if roles is not None:
        rows = rows.filter(role__in=roles)
    return rows.order_by().values("team_id")  # no Meta ordering: a set, not a list


class EqualsAny(Func):
    """`lhs = ANY(ARRAY(subquery))`: unlike `IN (subquery)`, PostgreSQL can combine it with
    other indexed conditions in a BitmapOr (measured: counting a user's 1,000 of 11,000 agents
    5.4 ms with `IN`, 0.3 ms with `ANY`)."""

    arg_joiner = " = ANY("
    template = "(%(expressions)s))"
    output_field = models.BooleanField()


def in_member_teams(field: str, user, roles: tuple[str, ...] | None = None) -> Q:
    """Rows whose `field` (a team id) is one of the teams `user` belongs to (with `roles`)."""
    return Q(EqualsAny(F(field), ArraySubquery(member_team_ids(user, roles))))
