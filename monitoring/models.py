"""The seed's analytics tables: `agent_metrics` and `api_usage`."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from echelon.db.models import choice_check, created_at, json_object, uuid_pk


class MetricType(models.TextChoices):
    RESPONSE_TIME = "response_time", "Response time"
    ACCURACY = "accuracy"
    COST = "cost"
    SUCCESS_RATE = "success_rate", "Success rate"
    ERROR_RATE = "error_rate", "Error rate"
    TOKENS = "tokens"
    THROUGHPUT = "throughput"


class MetricUnit(models.TextChoices):
    MS = "ms"
    USD = "usd", "USD"
    PERCENT = "percent"
    COUNT = "count"
    PER_MINUTE = "per_minute", "Per minute"


class AgentMetric(models.Model):
    id = uuid_pk()
    agent = models.ForeignKey(
        "agents.Agent", on_delete=models.CASCADE, null=True, db_column="agent_id",
        related_name="metrics", db_index=False,
    )
    metric_type = models.CharField(max_length=100, choices=MetricType)
    value = models.DecimalField(max_digits=10, decimal_places=4)
    unit = models.CharField(max_length=50, choices=MetricUnit, null=True, blank=True)
    metadata = json_object()
    recorded_at = created_at(editable=True)

    class Meta:
        db_table = "agent_metrics"
        ordering = ["-recorded_at"]
        constraints = [
            choice_check("agent_metrics", "metric_type", MetricType),
            choice_check("agent_metrics", "unit", MetricUnit),
        ]
        indexes = [
            models.Index(fields=["agent"], name="idx_agent_metrics_agent_id"),
            models.Index(fields=["metric_type"], name="idx_agent_metrics_type"),
            models.Index(fields=["recorded_at"], name="idx_agent_metrics_recorded_at"),
            models.Index(fields=["agent", "metric_type", "recorded_at"], name="idx_agent_metrics_series"),
        ]

    def __str__(self) -> str:
        return f"{self.metric_type} = {self.value}{' ' + self.unit if self.unit else ''}"


class ApiUsage(models.Model):
    id = uuid_pk()
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, db_column="user_id",
        related_name="api_usage", db_index=False,
    )
    agent = models.ForeignKey(
        "agents.Agent", on_delete=models.SET_NULL, null=True, blank=True, db_column="agent_id",
        related_name="api_usage", db_index=False,
    )
    endpoint = models.CharField(max_length=255)
    method = models.CharField(max_length=10)
    status_code = models.IntegerField()
    response_time_ms = models.IntegerField(null=True, blank=True)
    cost_usd = models.DecimalField(max_digits=8, decimal_places=4, null=True, blank=True)
    created_at = created_at()

    class Meta:
        db_table = "api_usage"
        ordering = ["-created_at"]
        verbose_name_plural = "API usage"
        indexes = [
            models.Index(fields=["user"], name="idx_api_usage_user_id"),
            models.Index(fields=["agent"], name="idx_api_usage_agent_id"),
            models.Index(fields=["created_at"], name="idx_api_usage_created_at"),
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.endpoint} {self.status_code}"
