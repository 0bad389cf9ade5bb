"""Reads about teams for a user: which teams they may use in writes."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.memberships import ADMIN_ROLES, MANAGER_ROLES, member_team_ids
from accounts.models import Team
from echelon.policy import is_signed_in


def teams_managed_by(user) -> QuerySet:
    """Teams in which `user` may put agents: where they are `admin` or `agent_manager` (the one
    rule of "teams this user manages": serializers, services and the admin ask it)."""
    if not is_signed_in(user):
        return Team.objects.none()
    if user.is_superuser:
        return Team.objects.all()
    return Team.objects.filter(pk__in=member_team_ids(user, roles=MANAGER_ROLES))


def teams_administered_by(user) -> QuerySet:
    """Teams whose roles `user` may grant and revoke."""
    if not is_signed_in(user):
        return Team.objects.none()
    if user.is_superuser:
        return Team.objects.all()
    return Team.objects.filter(pk__in=member_team_ids(user, roles=ADMIN_ROLES))
