"""Access policy for users, teams and team roles (see the policy table in README.md)."""

from __future__ import annotations

from django.db.models import Q

from accounts.models import Team, User, UserRole
from echelon.policy import Audience, RowPolicy, _ids, member_team_ids, register


@register
class UserPolicy(RowPolicy):
    """Self; members of a shared team see the public profile (the serializer limits fields)."""

    model = User

    def readers(self, user) -> Q:
        shared = UserRole.objects.filter(team_id__in=member_team_ids(user)).values("user_id")
        return Q(pk=user.pk) | Q(pk__in=shared)

    def writers(self, user) -> Q:
        return Q(pk=user.pk)

    def audience(self, row) -> Audience:
        teams = UserRole.objects.filter(user_id=row.pk, team_id__isnull=False).values_list("team_id", flat=True)
        return Audience(user_ids=_ids(row.pk), team_ids=frozenset(teams))


@register
class TeamPolicy(RowPolicy):
    """Members read; team admins change and delete."""

    model = Team

    def readers(self, user) -> Q:
        return Q(pk__in=member_team_ids(user))

    def writers(self, user) -> Q:
        return Q(pk__in=member_team_ids(user, roles=("admin",)))

    def audience(self, row) -> Audience:
        return Audience(team_ids=_ids(row.pk))


@register
class UserRolePolicy(RowPolicy):
    """Members of a team read its roles; the team's admins grant and revoke them; members leave."""

    model = UserRole

    def readers(self, user) -> Q:
        return Q(team_id__in=member_team_ids(user))

    def writers(self, user) -> Q:
        return Q(team_id__in=member_team_ids(user, roles=("admin",)))

    def deleters(self, user) -> Q:
        # Team admins revoke roles; any member may leave (delete their own role).
        return self.writers(user) | Q(user_id=user.pk, team_id__isnull=False)

    def audience(self, row) -> Audience:
        # The member concerned hears about its own role even after losing it.
        return Audience(user_ids=_ids(row.user_id), team_ids=_ids(row.team_id))
