"""Filters for notifications and agent thoughts."""

from __future__ import annotations

from django_filters import rest_framework as filters

from echelon.api.filters import StrictBooleanFilter, StrictFilterSet, related_id, time_range
from notifications.models import AgentThought, NodeType, Notification, NotificationType, Priority


class NotificationFilterSet(StrictFilterSet):
    type = filters.MultipleChoiceFilter(choices=NotificationType.choices)
    priority = filters.MultipleChoiceFilter(choices=Priority.choices)
    unread = StrictBooleanFilter(field_name="read_at", lookup_expr="isnull", help_text="true: unread only.")
    created_after, created_before = time_range("created_at", "created")

    class Meta:
        model = Notification
        fields = ["type", "priority"]


class AgentThoughtFilterSet(StrictFilterSet):
    agent = related_id("agent")
    execution = related_id("execution")
    node_type = filters.MultipleChoiceFilter(choices=NodeType.choices)
    node_id = filters.CharFilter()
    parent_node_id = filters.CharFilter()
    created_after, created_before = time_range("created_at", "created")

    class Meta:
        model = AgentThought
        fields = ["agent", "execution", "node_type", "node_id", "parent_node_id"]
