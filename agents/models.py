"""The seed's agent-management tables: `agents` and `agent_templates`."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse

from echelon.db.models import UpdatedAtModel, choice_check, created_at, json_object, uuid_pk


class AgentType(models.TextChoices):
    MARKET = "market"
    WEBSEARCH = "websearch", "Web search"
    MEDIA = "media"
    ALARM = "alarm"


class AgentStatus(models.TextChoices):
    ACTIVE = "active"
    PAUSED = "paused"
    ERROR = "error"
    INACTIVE = "inactive"


class Agent(UpdatedAtModel):
    """An AI agent. Its status changes only through `agents.services.agent_set_status`."""

    id = uuid_pk()
    name = models.CharField(max_length=255)
    description = models.TextField(null=True, blank=True)
    type = models.CharField(max_length=100, choices=AgentType)
    status = models.CharField(
        max_length=50, choices=AgentStatus, default=AgentStatus.INACTIVE, db_default=AgentStatus.INACTIVE,
        null=True,
    )
    config = models.JSONField(default=dict, db_default=models.Value({}, models.JSONField()), blank=True)
    deployment_config = json_object()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, db_column="created_by",
        related_name="agents", db_index=False,
    )
    # Seed: no ON DELETE; deleting a team leaves its agents with their owners.
    team = models.ForeignKey(
        "accounts.Team", on_delete=models.SET_NULL, null=True, blank=True, db_column="team_id",
        related_name="agents", db_index=False,
    )
    last_activity = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "agents"
        ordering = ["-updated_at"]
        constraints = [choice_check("agents", "type", AgentType), choice_check("agents", "status", AgentStatus)]
        indexes = [
            models.Index(fields=["created_by"], name="idx_agents_created_by"),
            models.Index(fields=["team"], name="idx_agents_team_id"),
            models.Index(fields=["type"], name="idx_agents_type"),
            models.Index(fields=["status"], name="idx_agents_status"),
            models.Index(fields=["created_by", "status"], name="idx_agents_user_status"),
            models.Index(
                fields=["created_by"], name="idx_active_agents", condition=models.Q(status="active")
            ),
            models.Index(fields=["-updated_at"], name="idx_agents_updated_at"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        """The agent's web page (the admin's "view on site")."""
        return reverse("web-agent", args=[self.pk])


class AgentTemplate(models.Model):
    id = uuid_pk()
    name = models.CharField(max_length=255)
    description = models.TextField(null=True, blank=True)
    type = models.CharField(max_length=100, choices=AgentType)
    default_config = models.JSONField()
    is_public = models.BooleanField(default=False, db_default=False, null=True)
    # Seed: no ON DELETE; a public template stays when its author's account goes.
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, db_column="created_by",
        related_name="agent_templates", db_index=False,
    )
    created_at = created_at()

    class Meta:
        db_table = "agent_templates"
        ordering = ["name"]
        constraints = [choice_check("agent_templates", "type", AgentType)]
        indexes = [
            models.Index(fields=["created_by"], name="idx_agent_templates_created_by"),
            models.Index(fields=["is_public"], name="idx_agent_templates_public", condition=models.Q(is_public=True)),
        ]

    def __str__(self) -> str:
        return self.name
