"""Serializers for agents and agent templates (writes go through `agents.services`)."""

from __future__ import annotations

from rest_framework import serializers

from accounts.models import Team
from accounts.selectors import teams_managed_by
from agents.models import Agent, AgentStatus, AgentTemplate
from agents.services import agent_create, agent_update
from echelon.api.fields import PolicyRelatedField
from echelon.api.serializers import ModelSerializer, StrictCharField


def team_field(**kwargs) -> PolicyRelatedField:
    """A team the user may put agents in (admin or agent_manager there); null for none."""
    return PolicyRelatedField(
        model=Team, scope=teams_managed_by, allow_null=True, required=False,
        help_text="Team the agent belongs to; you must be its admin or agent_manager.", **kwargs,
    )


class AgentSerializer(ModelSerializer):
    """An agent. `status` is writable: a change goes through `agent_set_status` (one notification)."""

    team = team_field()
    status = serializers.ChoiceField(choices=AgentStatus.choices, required=False)

    class Meta:
        model = Agent

    def validate_config(self, value):
        if not isinstance(value, dict):
            raise serializers.ValidationError("Must be a JSON object.")
        return value

    validate_deployment_config = validate_config

    def create(self, validated_data):
        actor = validated_data.pop("created_by")
        return agent_create(actor=actor, **validated_data)

    def update(self, instance, validated_data):
        return agent_update(agent=instance, actor=self.context["request"].user, **validated_data)


class AgentDashboardRowSerializer(serializers.Serializer):
    """Schema of one dashboard row (the view renders plain rows with orjson)."""

    class LatestDeployment(serializers.Serializer):
        status = serializers.CharField()
        deployed_at = serializers.DateTimeField(allow_null=True)

    class LatestWorkflow(serializers.Serializer):
        execution_count = serializers.IntegerField()
        success_count = serializers.IntegerField()
        error_count = serializers.IntegerField()

    id = serializers.UUIDField()
    name = serializers.CharField()
    description = serializers.CharField(allow_null=True)
    type = serializers.CharField()
    status = serializers.CharField()
    config = serializers.JSONField()
    deployment_config = serializers.JSONField()
    created_by = serializers.UUIDField(allow_null=True)
    team = serializers.UUIDField(allow_null=True)
    last_activity = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    latest_deployment = LatestDeployment(allow_null=True, help_text="Newest deployment, or null.")
    latest_workflow = LatestWorkflow(allow_null=True, help_text="Newest workflow's counters, or null.")


class AgentTemplateSerializer(ModelSerializer):
    class Meta:
        model = AgentTemplate

    def validate_default_config(self, value):
        if not isinstance(value, dict):
            raise serializers.ValidationError("Must be a JSON object.")
        return value


class AgentInstantiateSerializer(serializers.Serializer):
    """Overrides for a new agent made from a template."""

    name = StrictCharField(max_length=255, required=False, help_text="Defaults to the template's name.")
    description = StrictCharField(required=False, allow_null=True, allow_blank=True)
    team = team_field()
    config = serializers.DictField(
        required=False, default=dict,
        help_text="Deep-merged over the template's default_config (nested objects merge key by key).",
    )

