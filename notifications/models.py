"""The seed's `notifications` and `agent_thoughts` tables."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from echelon.db.models import choice_check, created_at, json_object, uuid_pk


class NotificationType(models.TextChoices):
    AGENT_STATUS_CHANGE = "agent_status_change", "Agent status change"
    AGENT_ERROR = "agent_error", "Agent error"
    DEPLOYMENT_SUCCESS = "deployment_success", "Deployment succeeded"
    DEPLOYMENT_FAILED = "deployment_failed", "Deployment failed"
    RATE_LIMIT_WARNING = "rate_limit_warning", "Rate limit warning"
    TEAM_MEMBERSHIP = "team_membership", "Team membership"
    SYSTEM = "system"


class Priority(models.TextChoices):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class NodeType(models.TextChoices):
    INPUT = "input"
    PROCESSING = "processing"
    ACTION = "action"
    OUTPUT = "output"


class NotificationQuerySet(models.QuerySet):
    def unexpired(self, now=None):
        return self.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now or timezone.now()))

    def unread(self):
        return self.filter(read_at__isnull=True)


class Notification(models.Model):
    id = uuid_pk()
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, db_column="user_id",
        related_name="notifications", db_index=False,
    )
    type = models.CharField(max_length=100, choices=NotificationType)
    title = models.CharField(max_length=255)
    message = models.TextField()
    data = json_object()
    priority = models.CharField(
        max_length=20, choices=Priority, default=Priority.MEDIUM, db_default=Priority.MEDIUM, null=True
    )
    read_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = created_at()

    objects = NotificationQuerySet.as_manager()

    class Meta:
        db_table = "notifications"
        ordering = ["-created_at"]
        constraints = [
            choice_check("notifications", "type", NotificationType),
            choice_check("notifications", "priority", Priority),
        ]
        indexes = [
            models.Index(fields=["user"], name="idx_notifications_user_id"),
            models.Index(fields=["created_at"], name="idx_notifications_created_at"),
            models.Index(fields=["priority"], name="idx_notifications_priority"),
            models.Index(
                fields=["user", "created_at"], name="idx_unread_notifications", condition=Q(read_at__isnull=True)
            ),
        ]

    def __str__(self) -> str:
        return self.title


class AgentThought(models.Model):
    """One node of an execution's mind map; `parent_node_id` links to a node of the same execution."""

    id = uuid_pk()
    agent = models.ForeignKey(
        "agents.Agent", on_delete=models.CASCADE, null=True, db_column="agent_id",
        related_name="thoughts", db_index=False,
    )
    # Seed: no ON DELETE. Thoughts are an execution's history: deleting an execution alone is
    # refused while it has thoughts (RESTRICT); deleting the agent removes both (CASCADE).
    execution = models.ForeignKey(
        "workflows.WorkflowExecution", on_delete=models.RESTRICT, null=True, blank=True,
        db_column="execution_id", related_name="thoughts", db_index=False,
    )
    node_id = models.CharField(max_length=100)
    node_type = models.CharField(max_length=50, choices=NodeType)
    content = models.TextField()
    metadata = json_object()
    parent_node_id = models.CharField(max_length=100, null=True, blank=True)
    confidence_score = models.DecimalField(max_digits=3, decimal_places=2, null=True, blank=True)
    processing_time_ms = models.IntegerField(null=True, blank=True)
    created_at = created_at()

    class Meta:
        db_table = "agent_thoughts"
        ordering = ["created_at"]
        constraints = [
            choice_check("agent_thoughts", "node_type", NodeType),
            models.UniqueConstraint(fields=["execution", "node_id"], name="agent_thoughts_execution_node_unique"),
            models.CheckConstraint(
                condition=Q(confidence_score__gte=0, confidence_score__lte=1) | Q(confidence_score__isnull=True),
                name="agent_thoughts_confidence_score_range",
            ),
        ]
        indexes = [
            models.Index(fields=["agent"], name="idx_agent_thoughts_agent_id"),
            models.Index(fields=["execution"], name="idx_agent_thoughts_execution_id"),
            models.Index(fields=["created_at"], name="idx_agent_thoughts_created_at"),
        ]

    def __str__(self) -> str:
        content = self.content if len(self.content) <= 60 else self.content[:59] + "…"
        return f"{self.node_type} {self.node_id}: {content}"
