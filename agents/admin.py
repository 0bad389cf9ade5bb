"""Admin for agents and agent templates.

Status changes made here (the activate / pause actions and the change form) go through
`agents.services.agent_set_status`, so each real change sends exactly one notification.
"""

from __future__ import annotations

from django.contrib import admin, messages

from agents.models import Agent, AgentStatus, AgentTemplate
from agents.services import agent_check_team_move, agent_set_status
from echelon.admin import PolicyModelAdmin, status_badge


@admin.register(Agent)
class AgentAdmin(PolicyModelAdmin):
    list_display = ("name", "type", "status_badge", "created_by", "team", "last_activity", "updated_at")
    list_filter = ("status", "type", ("created_by", admin.RelatedOnlyFieldListFilter),
                   ("team", admin.RelatedOnlyFieldListFilter), "updated_at", "created_at")
    status_badge = status_badge("status")
    list_select_related = ("created_by", "team")
    search_fields = ("name", "created_by__email", "team__slug")
    search_uuid_fields = ("created_by_id", "team_id")
    autocomplete_fields = ("created_by", "team")
    readonly_fields = ("id", "last_activity", "created_at", "updated_at")
    owner_field = "created_by"
    fieldsets = (
        (None, {"fields": ("id", "name", "description", "type", "status", "created_by", "team")}),
        ("Configuration", {"fields": ("config", "deployment_config")}),
        ("Dates", {"fields": ("last_activity", "created_at", "updated_at")}),
    )
    inlines = ()  # workflows/admin.py adds the agent's deployments and workflows (it sits above agents)
    actions = ("activate_agents", "pause_agents")

    def save_model(self, request, obj, form, change):
        """Save the other fields, then move the status through the service (one notification)."""
        if not change:
            super().save_model(request, obj, form, change)
            return
        agent_check_team_move(agent=obj, actor=request.user, team=obj.team_id)  # REST's rule: 403, nothing saved
        new_status = obj.status
        fields = [f.name for f in obj._meta.concrete_fields if not f.primary_key and f.name != "status"]
        obj.save(update_fields=fields)
        agent_set_status(agent=obj, status=new_status, actor=request.user)
        self.ensure_editable(request, obj)

    def _set_status(self, request, queryset, status: str) -> None:
        changed = unchanged = 0
        for agent in self.policy.editable_by(request.user, queryset).order_by():
            if agent_set_status(agent=agent, status=status, actor=request.user):
                changed += 1
            else:
                unchanged += 1
        self.message_user(
            request, f"{changed} agent(s) set to {status}; {unchanged} already were.", messages.SUCCESS
        )

    @admin.action(description="Activate selected agents")
    def activate_agents(self, request, queryset):
        self._set_status(request, queryset, AgentStatus.ACTIVE)

    @admin.action(description="Pause selected agents")
    def pause_agents(self, request, queryset):
        self._set_status(request, queryset, AgentStatus.PAUSED)


@admin.register(AgentTemplate)
class AgentTemplateAdmin(PolicyModelAdmin):
    list_display = ("name", "type", "is_public", "created_by", "created_at")
    list_filter = ("type", "is_public", "created_at")
    list_select_related = ("created_by",)
    search_fields = ("name", "created_by__email")
    search_uuid_fields = ("created_by_id",)
    autocomplete_fields = ("created_by",)
    readonly_fields = ("id", "created_at")
    fields = ("id", "name", "description", "type", "is_public", "default_config", "created_by", "created_at")
    owner_field = "created_by"
