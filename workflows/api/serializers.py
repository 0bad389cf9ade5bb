"""Serializers for deployments, workflows and (read-only) workflow executions."""

from __future__ import annotations

from django.db import transaction
from rest_framework import serializers

from agents.models import Agent
from echelon.api.fields import PolicyRelatedField
from echelon.api.serializers import ModelSerializer
from workflows.models import Deployment, DeploymentStatus, TriggerType, Workflow, WorkflowExecution
from workflows.services import ScheduleError, deployment_create
from workflows.services.deployments import deployment_queue
from workflows.services.deployments import audited_trigger_config
from workflows.services.links import N8nLinkTaken, n8n_link_check, n8n_link_guard
from workflows.services.scheduling import scheduled_config


class LinkConflict(serializers.ValidationError):
    """409 naming the field: the n8n workflow is linked to another Echelon workflow."""

    status_code = 409

    def __init__(self, taken: N8nLinkTaken):
        super().__init__({taken.field: [str(taken)]}, code="conflict")


def agent_field() -> PolicyRelatedField:
    return PolicyRelatedField(
        model=Agent, help_text="An agent you may change (owner, team admin or agent_manager)."
    )


class CreateOnlyAgentMixin:
    """`agent` is chosen at creation; a row never moves to another agent."""

    def get_fields(self):
        fields = super().get_fields()
        if self.instance is not None:
            fields["agent"].read_only = True
        return fields


class DeploymentSerializer(CreateOnlyAgentMixin, ModelSerializer):
    agent = agent_field()

    class Meta:
        model = Deployment
        validators = []  # the version is assigned by `deployment_create` under a lock

    def validate(self, attrs):
        """A scheduled deployment still waiting (new or pending) needs a valid `run_at`."""
        attrs = super().validate(attrs)
        instance = self.instance
        trigger_type = attrs.get("trigger_type", instance.trigger_type if instance else None)
        waiting = instance is None or instance.status == DeploymentStatus.PENDING
        if trigger_type == TriggerType.SCHEDULED and waiting:
            config = attrs.get("trigger_config", instance.trigger_config if instance else {}) or {}
            try:
                attrs["trigger_config"] = scheduled_config(config)
            except ScheduleError as exc:
                raise serializers.ValidationError({"trigger_config": [f"scheduled: {exc}"]}) from None
        if instance is not None and "trigger_config" in attrs:
            # Audit fields (requested_by) are the server's: a change keeps the stored ones.
            attrs["trigger_config"] = audited_trigger_config(attrs["trigger_config"],
                                                             previous=instance.trigger_config)
        return attrs

    def create(self, validated_data):
        """Record the next deployment and queue its publish for the task queue's worker (the
        state machine in `workflows.services` moves it to deployed, failed or unknown); a
        scheduled one waits for its `trigger_config.run_at` (workflows.services.scheduling)."""
        deployment = deployment_create(actor=self.context["request"].user, **validated_data)
        if deployment.trigger_type != TriggerType.SCHEDULED:
            deployment = deployment_queue(deployment=deployment)
        return deployment


class WorkflowSerializer(CreateOnlyAgentMixin, ModelSerializer):
    agent = agent_field()

    class Meta:
        model = Workflow
        # DRF's own validator for the unique index would answer 400; `save` answers 409.
        extra_kwargs = {"n8n_workflow_id": {"validators": []}}

    def save(self, **kwargs):
        """A link to an n8n workflow another Echelon workflow holds is a 409 naming it, checked
        here (a field validator's error would become a 400) and by the unique index."""
        n8n_id = self.validated_data.get("n8n_workflow_id")
        try:
            n8n_link_check(n8n_id, workflow_pk=self.instance.pk if self.instance is not None else None)
            with n8n_link_guard(n8n_id), transaction.atomic():
                return super().save(**kwargs)
        except N8nLinkTaken as taken:
            raise LinkConflict(taken) from None


class WorkflowExecutionSerializer(ModelSerializer):
    agent = serializers.UUIDField(source="workflow.agent_id", read_only=True)

    class Meta:
        model = WorkflowExecution
        derived = {"agent": "workflow_id"}  # the workflow's agent, readable with the workflow


class WorkflowUpdateSerializer(WorkflowSerializer):
    """PUT/PATCH in the schema: `agent` is fixed at creation, so it is not required there (the
    schema demanded it while the API ignored it; found by schemathesis)."""

    agent = serializers.UUIDField(read_only=True)
