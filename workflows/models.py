"""The seed's workflow and deployment tables: `deployments`, `workflows`, `workflow_executions`."""

from __future__ import annotations

import secrets

from django.db import models
from django.db.models import Q
from django.urls import reverse

from echelon.dates import DateTimeInputError, parse_aware
from echelon.db.models import UpdatedAtModel, choice_check, created_at, json_object, uuid_pk


class DeploymentStatus(models.TextChoices):
    PENDING = "pending"
    DEPLOYING = "deploying"
    DEPLOYED = "deployed"
    FAILED = "failed"
    STOPPED = "stopped"
    # Not in the seed (issue 18): the in-between state of a stop, and a publish or unpublish whose
    # outcome n8n did not tell (timeout, connection reset); the next reconcile pass resolves both.
    STOPPING = "stopping"
    UNKNOWN = "unknown", "Outcome unknown"


class TriggerType(models.TextChoices):
    MANUAL = "manual"
    CONFIG_CHANGE = "config_change", "Config change"
    SCHEDULED = "scheduled"


class WorkflowStatus(models.TextChoices):
    ACTIVE = "active"
    PAUSED = "paused"
    ERROR = "error"
    INACTIVE = "inactive"


class ExecutionStatus(models.TextChoices):
    RUNNING = "running"
    SUCCESS = "success"
    ERROR = "error"
    WAITING = "waiting"


def new_webhook_secret() -> str:
    """A fresh per-workflow HMAC secret: 256 random bits, URL-safe (43 characters)."""
    return secrets.token_urlsafe(32)


# The database rule of point 2 (issue 12): an n8n workflow links to at most one Echelon workflow.
N8N_LINK_CONSTRAINT = "workflows_n8n_workflow_id_unique"
N8N_LINK_TAKEN = "This n8n workflow is already linked to another Echelon workflow."


class Deployment(models.Model):
    """One deployment of an agent. Status moves only through `workflows.services`."""

    id = uuid_pk()
    agent = models.ForeignKey(
        "agents.Agent", on_delete=models.CASCADE, null=True, db_column="agent_id",
        related_name="deployments", db_index=False,
    )
    version = models.IntegerField(default=1, db_default=1)
    status = models.CharField(
        max_length=50, choices=DeploymentStatus, default=DeploymentStatus.PENDING,
        db_default=DeploymentStatus.PENDING, null=True,
    )
    trigger_type = models.CharField(max_length=100, choices=TriggerType, null=True, blank=True)
    trigger_config = json_object()
    deployment_url = models.TextField(null=True, blank=True)
    error_message = models.TextField(null=True, blank=True)
    deployed_at = models.DateTimeField(null=True, blank=True)
    stopped_at = models.DateTimeField(null=True, blank=True)
    created_at = created_at()
    # Not in the seed (issue 18): what the reconciler last did for this deployment in n8n, and when.
    reconcile_note = models.TextField(null=True, blank=True)

    class Meta:
        db_table = "deployments"
        ordering = ["-created_at"]
        constraints = [
            choice_check("deployments", "status", DeploymentStatus),
            choice_check("deployments", "trigger_type", TriggerType),
            models.UniqueConstraint(fields=["agent", "version"], name="deployments_agent_version_unique"),
        ]
        indexes = [
            models.Index(fields=["agent"], name="idx_deployments_agent_id"),
            models.Index(fields=["status"], name="idx_deployments_status"),
            models.Index(fields=["agent", "status"], name="idx_deployments_agent_status"),
            models.Index(fields=["agent", "-created_at"], name="idx_deployments_agent_latest"),
        ]

    def __str__(self) -> str:
        # Readers of a deployment read its agent (same policy); lists select the agent with it.
        agent = self.agent.name if self.agent_id else "No agent"
        return f"{agent} v{self.version} — {self.status}"

    @property
    def run_at(self):
        """When a scheduled deployment is to run (aware datetime), from `trigger_config.run_at`;
        None for other deployments or an unreadable value (workflows.services.scheduling)."""
        if self.trigger_type != TriggerType.SCHEDULED:
            return None
        try:
            return parse_aware((self.trigger_config or {}).get("run_at"))
        except DateTimeInputError:
            return None


class Workflow(UpdatedAtModel):
    """An n8n workflow run by an agent, with execution counters kept by the database."""

    id = uuid_pk()
    agent = models.ForeignKey(
        "agents.Agent", on_delete=models.CASCADE, null=True, db_column="agent_id",
        related_name="workflows", db_index=False,
    )
    name = models.CharField(max_length=255)
    description = models.TextField(null=True, blank=True)
    n8n_workflow_id = models.CharField(max_length=255, null=True, blank=True)
    trigger_config = json_object()
    status = models.CharField(
        max_length=50, choices=WorkflowStatus, default=WorkflowStatus.INACTIVE,
        db_default=WorkflowStatus.INACTIVE, null=True,
    )
    last_execution = models.DateTimeField(null=True, blank=True)
    next_execution = models.DateTimeField(null=True, blank=True)
    execution_count = models.IntegerField(default=0, db_default=0, null=True, editable=False)
    success_count = models.IntegerField(default=0, db_default=0, null=True, editable=False)
    error_count = models.IntegerField(default=0, db_default=0, null=True, editable=False)
    # Not in the seed: the per-workflow HMAC secret of n8n's signed callback (docs/n8n.md, "Lifecycle
    # and n8n"). Every new row gets its own; shown once (create, rotate-secret), never serialized.
    # Empty only on rows older than migration 0004, which fall back to settings.N8N_WEBHOOK_SECRET.
    webhook_secret = models.CharField(max_length=255, null=True, blank=True, default=new_webhook_secret)

    class Meta:
        db_table = "workflows"
        ordering = ["-created_at"]
        constraints = [
            choice_check("workflows", "status", WorkflowStatus),
            # Partial: many workflows may be unlinked (NULL or ''). Also the callback's lookup index.
            models.UniqueConstraint(
                fields=["n8n_workflow_id"], condition=Q(n8n_workflow_id__gt=""), name=N8N_LINK_CONSTRAINT,
                violation_error_code="unique", violation_error_message=N8N_LINK_TAKEN,
            ),
        ]
        indexes = [
            models.Index(fields=["agent", "-created_at"], name="idx_workflows_agent_latest"),
        ]

    def __str__(self) -> str:
        return self.name


class WorkflowExecution(models.Model):
    """One run of a workflow, as n8n reports it (sync or signed callback)."""

    id = uuid_pk()
    workflow = models.ForeignKey(
        Workflow, on_delete=models.CASCADE, null=True, db_column="workflow_id",
        related_name="executions", db_index=False,
    )
    execution_id = models.CharField(max_length=255, null=True, blank=True, help_text="n8n execution id")
    # Not in the seed (issue 18): an execution is identified by (n8n workflow id, execution id):
    # n8n's ids restart after a reset, so the id alone can name another run. '' when unknown.
    n8n_workflow_id = models.CharField(max_length=255, blank=True, default="", db_default="")
    # When the sync found that n8n no longer has the execution (pruned, deleted, or an n8n reset):
    # such a row is not fetched again.
    missing_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=50, choices=ExecutionStatus, null=True, blank=True)
    input_data = models.JSONField(null=True, blank=True)
    output_data = models.JSONField(null=True, blank=True)
    error_data = models.JSONField(null=True, blank=True)
    execution_time_ms = models.IntegerField(null=True, blank=True)
    started_at = created_at(editable=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "workflow_executions"
        ordering = ["-started_at"]
        constraints = [
            choice_check("workflow_executions", "status", ExecutionStatus),
            models.UniqueConstraint(
                fields=["workflow", "n8n_workflow_id", "execution_id"],
                name="workflow_executions_workflow_n8n_execution_unique",
            ),
        ]
        indexes = [
            models.Index(fields=["workflow"], name="idx_workflow_executions_workflow_id"),
            models.Index(fields=["status"], name="idx_workflow_executions_status"),
            models.Index(fields=["started_at"], name="idx_workflow_executions_started_at"),
            models.Index(fields=["workflow", "status"], name="idx_workflow_executions_workflow_status"),
        ]

    def __str__(self) -> str:
        workflow = self.workflow.name if self.workflow_id else "No workflow"
        return f"{workflow} #{self.execution_id or '?'} — {self.status or 'unknown'}"

    def get_absolute_url(self) -> str:
        """The execution's mind map page (the admin's "view on site")."""
        return reverse("web-mind-map", args=[self.pk])
