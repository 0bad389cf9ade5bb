"""Serializers for notifications and agent thoughts (both read-only through the API)."""

from __future__ import annotations

from rest_framework import serializers

from echelon.api.serializers import ModelSerializer
from notifications.models import AgentThought, Notification


class NotificationSerializer(ModelSerializer):
    class Meta:
        model = Notification
        fields = ["id", "type", "title", "message", "data", "priority", "read_at", "expires_at", "created_at"]
        read_only_fields = fields


class MarkedSerializer(serializers.Serializer):
    marked = serializers.IntegerField(help_text="How many notifications were marked read.")


class UnreadCountSerializer(serializers.Serializer):
    unread = serializers.IntegerField(help_text="Unread, unexpired notifications.")


class AgentThoughtSerializer(ModelSerializer):
    class Meta:
        model = AgentThought
        fields = [
            "id", "agent", "execution", "node_id", "node_type", "content", "metadata", "parent_node_id",
            "confidence_score", "processing_time_ms", "created_at",
        ]
        read_only_fields = fields
