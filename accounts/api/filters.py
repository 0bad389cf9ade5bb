"""Filters for teams, team roles and users."""

from __future__ import annotations

from django_filters import rest_framework as filters

from accounts.models import Role, Team, TeamPlan, User, UserRole
from echelon.api.filters import StrictFilterSet, related_id, time_range


class TeamFilterSet(StrictFilterSet):
    plan = filters.MultipleChoiceFilter(choices=TeamPlan.choices)
    slug = filters.CharFilter()
    created_after, created_before = time_range("created_at", "created")
    updated_after, updated_before = time_range("updated_at", "updated")

    class Meta:
        model = Team
        fields = ["plan", "slug"]


class TeamRoleFilterSet(StrictFilterSet):
    team = related_id("team")
    user = related_id("user")
    role = filters.MultipleChoiceFilter(choices=Role.choices)
    granted_after, granted_before = time_range("granted_at", "granted")

    class Meta:
        model = UserRole
        fields = ["team", "user", "role"]


class UserFilterSet(StrictFilterSet):
    team = related_id("roles__team", "Members of this team.")
    created_after, created_before = time_range("created_at", "created")
    updated_after, updated_before = time_range("updated_at", "updated")

    class Meta:
        model = User
        fields = ["team"]
