"""Serializers for teams, team roles (memberships) and users."""

from __future__ import annotations

from rest_framework import serializers

from accounts.models import Role, Team, User, UserRole
from accounts.selectors import teams_administered_by
from accounts.services import role_change, role_grant, team_create, team_update
from echelon.api.fields import PolicyRelatedField
from echelon.api.serializers import ModelSerializer


class TeamSerializer(ModelSerializer):
    class Meta:
        model = Team

    def create(self, validated_data):
        return team_create(actor=validated_data.pop("created_by"), **validated_data)

    def update(self, instance, validated_data):
        return team_update(team=instance, **validated_data)


class TeamRoleSerializer(ModelSerializer):
    """A membership. `team` and `user` are set at creation; afterwards only `role` changes."""

    team = PolicyRelatedField(model=Team, scope=teams_administered_by, help_text="A team you administer.")
    user = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True), pk_field=serializers.UUIDField(),
        help_text="Id of the user to add.",
    )
    role = serializers.ChoiceField(choices=Role.choices)

    class Meta:
        model = UserRole
        validators = []  # `role_grant` answers a duplicate membership with a 409 and a message

    def get_fields(self):
        fields = super().get_fields()
        if self.instance is not None:
            fields["team"].read_only = True
            fields["user"].read_only = True
        return fields

    def create(self, validated_data):
        return role_grant(
            team=validated_data["team"], user=validated_data["user"], role=validated_data["role"],
            actor=validated_data["granted_by"],
        )

    def update(self, instance, validated_data):
        if "role" not in validated_data:
            return instance
        return role_change(membership=instance, role=validated_data["role"], actor=self.context["request"].user)


class UserSerializer(ModelSerializer):
    """A user as its reader may see it (UserPolicy.columns): a teammate sees the public profile,
    the user its own profile too (tier, flags, dates; only the profile is writable)."""

    class Meta:
        model = User

    def validate_email(self, value):
        value = value.lower()
        if User.objects.filter(email__iexact=value).exclude(pk=self.instance.pk).exists():
            raise serializers.ValidationError("Another account uses this email address.")
        return value
