"""Filters for agents and agent templates."""

from __future__ import annotations

from django_filters import rest_framework as filters

from agents.models import Agent, AgentStatus, AgentTemplate, AgentType
from echelon.api.filters import StrictBooleanFilter, StrictFilterSet, related_id, time_range


class AgentFilterSet(StrictFilterSet):
    type = filters.MultipleChoiceFilter(choices=AgentType.choices, help_text="One or more agent types.")
    status = filters.MultipleChoiceFilter(choices=AgentStatus.choices, help_text="One or more statuses.")
    team = related_id("team")
    created_by = related_id("created_by", "Id of the owner.")
    no_team = StrictBooleanFilter(field_name="team", lookup_expr="isnull", help_text="true: agents in no team.")
    created_after, created_before = time_range("created_at", "created")
    updated_after, updated_before = time_range("updated_at", "updated")

    class Meta:
        model = Agent
        fields = ["type", "status", "team", "created_by"]


class AgentTemplateFilterSet(StrictFilterSet):
    type = filters.MultipleChoiceFilter(choices=AgentType.choices)
    is_public = StrictBooleanFilter()
    created_by = related_id("created_by", "Id of the author.")
    created_after, created_before = time_range("created_at", "created")

    class Meta:
        model = AgentTemplate
        fields = ["type", "is_public", "created_by"]
