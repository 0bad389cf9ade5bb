"""Filters for deployments, workflows and workflow executions."""

from __future__ import annotations

from django_filters import rest_framework as filters

from echelon.api.filters import StrictFilterSet, related_id, time_range
from workflows.models import (
    Deployment,
    DeploymentStatus,
    ExecutionStatus,
    TriggerType,
    Workflow,
    WorkflowExecution,
    WorkflowStatus,
)


class DeploymentFilterSet(StrictFilterSet):
    agent = related_id("agent")
    status = filters.MultipleChoiceFilter(choices=DeploymentStatus.choices)
    trigger_type = filters.MultipleChoiceFilter(choices=TriggerType.choices)
    created_after, created_before = time_range("created_at", "created")
    deployed_after, deployed_before = time_range("deployed_at", "deployed")

    class Meta:
        model = Deployment
        fields = ["agent", "status", "trigger_type"]


class WorkflowFilterSet(StrictFilterSet):
    agent = related_id("agent")
    status = filters.MultipleChoiceFilter(choices=WorkflowStatus.choices)
    n8n_workflow_id = filters.CharFilter()
    created_after, created_before = time_range("created_at", "created")
    updated_after, updated_before = time_range("updated_at", "updated")

    class Meta:
        model = Workflow
        fields = ["agent", "status", "n8n_workflow_id"]


class WorkflowExecutionFilterSet(StrictFilterSet):
    workflow = related_id("workflow")
    agent = related_id("workflow__agent", "Id of the agent whose workflow ran.")
    status = filters.MultipleChoiceFilter(choices=ExecutionStatus.choices)
    execution_id = filters.CharFilter(help_text="n8n execution id.")
    started_after, started_before = time_range("started_at", "started")
    completed_after, completed_before = time_range("completed_at", "completed")

    class Meta:
        model = WorkflowExecution
        fields = ["workflow", "status", "execution_id"]
