"""Serializers for notifications and agent thoughts (both read-only through the API)."""

from __future__ import annotations

from rest_framework import serializers

from echelon.api.serializers import ModelSerializer
from notifications.models import AgentThought, Notification


class NotificationSerializer(ModelSerializer):
    class Meta:
        model = Notification


class MarkedSerializer(serializers.Serializer):
    marked = serializers.IntegerField(help_text="How many notifications were marked read.")


class UnreadCountSerializer(serializers.Serializer):
    unread = serializers.IntegerField(help_text="Unread, unexpired notifications.")


class AgentThoughtSerializer(ModelSerializer):
    class Meta:
        model = AgentThought
