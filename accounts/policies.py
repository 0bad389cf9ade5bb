"""Access policy for users, teams and team roles (see the policy table in README.md)."""

from __future__ import annotations

from django.db.models import Q

from accounts.models import Team, User, UserRole
from echelon.columns import ALL, MEMBER, OPERATOR, SELF, Columns
from accounts.memberships import ADMIN_ROLES, member_team_ids
from echelon.policy import (
    Audience, RowPolicy, RowTopicPolicy, TopicPolicy, gone_records, ids, is_signed_in, register, register_topic,
)

PUBLIC_PROFILE = frozenset({"id", "email", "full_name", "avatar_url"})


@register
class UserPolicy(RowPolicy):
    """Self; members of a shared team see the public profile."""

    model = User
    columns = Columns(
        # Django auth's hash never leaves the server; last_login and is_active are the
        # operator's bookkeeping. A user sees its own tier and flags, a teammate the profile.
        never={"password"},
        shown={
            SELF: PUBLIC_PROFILE | {"subscription_tier", "is_staff", "is_superuser", "created_at", "updated_at"},
            MEMBER: PUBLIC_PROFILE,
            OPERATOR: ALL,
        },
        writable={"email", "full_name", "avatar_url"},
        operator_writable={"subscription_tier", "is_active", "is_staff", "is_superuser"},
    )

    def readers(self, user) -> Q:
        shared = UserRole.objects.filter(team_id__in=member_team_ids(user)).values("user_id")
        return Q(pk=user.pk) | Q(pk__in=shared)

    def writers(self, user) -> Q:
        return Q(pk=user.pk)

    def audience(self, row) -> Audience:
        teams = set(UserRole.objects.filter(user_id=row.pk, team_id__isnull=False).values_list("team_id", flat=True))
        # a user deleted with its roles (the cascade): its teams as they were
        teams |= {role["team_id"] for role in gone_records(UserRole)
                  if str(role["user_id"]) == str(row.pk) and role["team_id"] is not None}
        return Audience(user_ids=ids(row.pk), team_ids=frozenset(teams))

    def reader_kind(self, user, row) -> str:
        if user is not None and user.is_superuser:
            return OPERATOR
        row_id = row.get("id") if isinstance(row, dict) else getattr(row, "pk", None)
        return SELF if row_id is not None and user is not None and str(row_id) == str(user.pk) else MEMBER

    def audiences_by_kind(self, audience: Audience, record: dict) -> list[tuple[str, Audience]]:
        # The user first: it is also a member of its own teams, and gets its own variant.
        return [(SELF, Audience(user_ids=audience.user_ids)), (MEMBER, Audience(team_ids=audience.team_ids))]


@register
class TeamPolicy(RowPolicy):
    """Members read; team admins change and delete."""

    model = Team
    columns = Columns(writable={"name", "slug", "plan"}, operator_writable={"created_by"})

    def readers(self, user) -> Q:
        return Q(pk__in=member_team_ids(user))

    def writers(self, user) -> Q:
        return Q(pk__in=member_team_ids(user, roles=ADMIN_ROLES))

    def audience(self, row) -> Audience:
        # A team deleted with its roles (the cascade): its members by name, since their sockets
        # have lost the team by the time its DELETE is delivered.
        members = frozenset(role["user_id"] for role in gone_records(UserRole) if str(role["team_id"]) == str(row.pk))
        return Audience(user_ids=members, team_ids=ids(row.pk))


@register_topic
class TeamTopicPolicy(RowTopicPolicy):
    """Private realtime channels `team:<id>`: the team's members join and send."""

    prefix = "team"
    model = Team
    senders_are_readers = True


@register_topic
class UserTopicPolicy(TopicPolicy):
    """Private realtime channels `user:<id>`: that user alone (each of its sockets, devices)."""

    prefix = "user"

    def can_join(self, user, ident: str) -> bool:
        return is_signed_in(user) and str(user.pk) == ident


@register
class UserRolePolicy(RowPolicy):
    """Members of a team read its roles; the team's admins grant and revoke them; members leave."""

    model = UserRole
    # granted_by is the audit field: the server sets it to whoever grants the role.
    columns = Columns(writable={"user_id", "team_id", "role"})
    readable_relations = ("team", "user")  # readers are the team's members

    def readers(self, user) -> Q:
        return Q(team_id__in=member_team_ids(user))

    def writers(self, user) -> Q:
        return Q(team_id__in=member_team_ids(user, roles=ADMIN_ROLES))

    def deleters(self, user) -> Q:
        # Team admins revoke roles; any member may leave (delete their own role).
        return self.writers(user) | Q(user_id=user.pk, team_id__isnull=False)

    def audience(self, row) -> Audience:
        # The member concerned hears about its own role even after losing it.
        return Audience(user_ids=ids(row.user_id), team_ids=ids(row.team_id))
