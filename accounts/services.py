"""Team and membership writes. A team always keeps at least one admin."""

from __future__ import annotations

from django.db import transaction

from accounts.models import Role, Team, User, UserRole
from echelon.errors import Conflict


@transaction.atomic
def team_create(*, actor: User, name: str, slug: str, **fields) -> Team:
    """Create a team; its creator becomes its admin."""
    team = Team.objects.create(name=name, slug=slug, created_by=actor, **fields)
    UserRole.objects.create(team=team, user=actor, role=Role.ADMIN, granted_by=actor)
    return team


@transaction.atomic
def team_update(*, team: Team, **fields) -> Team:
    for name, value in fields.items():
        setattr(team, name, value)
    if fields:
        team.save(update_fields=list(fields))
    return team


def _lock_admins(team_id) -> list:
    """Lock the team's admin roles so two concurrent demotions cannot both pass the check."""
    return list(
        UserRole.objects.select_for_update().filter(team_id=team_id, role=Role.ADMIN).values_list("pk", flat=True)
    )


@transaction.atomic
def role_grant(*, team: Team, user: User, role: str, actor: User) -> UserRole:
    """Make `user` a member of `team` with `role` (`granted_by` = actor)."""
    if UserRole.objects.filter(team=team, user=user).exists():
        raise Conflict("This user is already a member of the team; change their role instead.")
    return UserRole.objects.create(team=team, user=user, role=role, granted_by=actor)


@transaction.atomic
def role_change(*, membership: UserRole, role: str, actor: User) -> UserRole:
    """Change a member's role; the last admin cannot be demoted."""
    if membership.role == Role.ADMIN and role != Role.ADMIN:
        admins = _lock_admins(membership.team_id)
        if admins == [membership.pk]:
            raise Conflict("The last admin of a team cannot be demoted; make another member admin first.")
    membership.role = role
    membership.granted_by = actor
    membership.save(update_fields=["role", "granted_by"])
    return membership


@transaction.atomic
def role_revoke(*, membership: UserRole, actor: User) -> None:
    """Remove a member (or let a member leave); the last admin cannot be removed."""
    if membership.role == Role.ADMIN:
        admins = _lock_admins(membership.team_id)
        if admins == [membership.pk]:
            raise Conflict("The last admin of a team cannot be removed; make another member admin first.")
    membership.delete()
