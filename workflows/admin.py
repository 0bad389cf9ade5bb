"""Admin for deployments, workflows and workflow executions.

Execution counters and execution payloads are written by ingestion (n8n sync and callbacks),
so the admin shows them read-only; executions are a time series and use estimated counts.
"""

from __future__ import annotations

from django.contrib import admin

from agents.admin import AgentAdmin

from echelon.admin import (
    EstimatedCountPaginator, PolicyInlineMixin, PolicyModelAdmin, ReadOnlyInline, json_display, limited_formset,
)
from echelon.admin_columns import shows_columns
from notifications.models import AgentThought
from workflows.models import Deployment, TriggerType, Workflow, WorkflowExecution
from workflows.services import deployment_create
from workflows.services.deployments import audited_trigger_config


class DeploymentInline(PolicyInlineMixin, admin.TabularInline):
    """The latest deployments; a new one is added on its own form (the service numbers it)."""

    model = Deployment
    formset = limited_formset(20)
    extra = 0
    fields = ("version", "status", "trigger_type", "deployment_url", "deployed_at", "stopped_at", "created_at")
    readonly_fields = ("status", "deployed_at", "stopped_at", "created_at")
    ordering = ("-version",)
    show_change_link = True
    verbose_name_plural = "Deployments (latest 20)"

    def has_add_permission(self, request, obj=None):
        return False


class WorkflowInline(PolicyInlineMixin, admin.TabularInline):
    model = Workflow
    formset = limited_formset(20)
    extra = 0
    fields = ("name", "status", "n8n_workflow_id", "execution_count", "success_count", "error_count",
              "last_execution")
    readonly_fields = ("execution_count", "success_count", "error_count", "last_execution")
    show_change_link = True
    verbose_name_plural = "Workflows (latest 20)"


# The agent's page lists its deployments and workflows: added here, where both are known.
AgentAdmin.inlines = (*AgentAdmin.inlines, DeploymentInline, WorkflowInline)


@admin.register(Deployment)
class DeploymentAdmin(PolicyModelAdmin):
    list_display = ("agent", "version", "status", "trigger_type", "deployed_at", "stopped_at", "created_at")
    list_filter = ("status", "trigger_type", "created_at", "deployed_at")
    list_select_related = ("agent",)
    search_fields = ("agent__name", "deployment_url")
    search_uuid_fields = ("agent_id",)
    autocomplete_fields = ("agent",)
    # Deployment status moves through the deployment services (n8n), not by hand.
    readonly_fields = ("id", "status", "created_at", "reconcile_note")
    fields = ("id", "agent", "version", "status", "trigger_type", "trigger_config", "deployment_url",
              "error_message", "deployed_at", "stopped_at", "created_at", "reconcile_note")
    date_hierarchy = "created_at"

    def save_model(self, request, obj, form, change):
        """A new deployment is recorded by the service (next version, pending, `requested_by` the
        staff user), as over REST; a change keeps the stored audit fields of trigger_config."""
        if change:
            previous = Deployment.objects.filter(pk=obj.pk).values_list("trigger_config", flat=True).first()
            obj.trigger_config = audited_trigger_config(obj.trigger_config, previous=previous or {})
            super().save_model(request, obj, form, change)
            return
        created = deployment_create(agent=obj.agent, trigger_type=obj.trigger_type or TriggerType.MANUAL,
                                    trigger_config=obj.trigger_config, actor=request.user)
        obj.__dict__.update({f.attname: getattr(created, f.attname) for f in created._meta.concrete_fields})
        obj._state.adding = False
        self.ensure_editable(request, obj)


class RecentExecutionInline(ReadOnlyInline):
    model = WorkflowExecution
    formset = limited_formset(20)
    fields = ("execution_id", "status", "execution_time_ms", "started_at", "completed_at")
    readonly_fields = fields
    ordering = ("-started_at",)
    verbose_name_plural = "Recent executions (latest 20)"


@admin.register(Workflow)
class WorkflowAdmin(PolicyModelAdmin):
    list_display = ("name", "agent", "status", "n8n_workflow_id", "execution_count", "success_count",
                    "error_count", "last_execution", "updated_at")
    list_filter = ("status", "last_execution", "created_at")
    list_select_related = ("agent",)
    search_fields = ("name", "n8n_workflow_id", "agent__name")
    search_uuid_fields = ("agent_id",)
    autocomplete_fields = ("agent",)
    readonly_fields = ("id", "execution_count", "success_count", "error_count", "last_execution",
                       "created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("id", "name", "description", "agent", "status", "n8n_workflow_id")}),
        ("Trigger", {"fields": ("trigger_config", "next_execution")}),
        ("Counters", {"fields": ("execution_count", "success_count", "error_count", "last_execution")}),
        ("Dates", {"fields": ("created_at", "updated_at")}),
    )
    inlines = (RecentExecutionInline,)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        """A link to an n8n workflow another workflow holds is refused by the form (the unique
        constraint's message on the field, nothing saved), answered 409 like the REST API."""
        response = super().changeform_view(request, object_id, form_url, extra_context)
        adminform = (getattr(response, "context_data", None) or {}).get("adminform")
        errors = adminform.form.errors.as_data() if adminform is not None else {}
        if request.method == "POST" and any(e.code == "unique" for e in errors.get("n8n_workflow_id", ())):
            response.status_code = 409
        return response


class ThoughtInline(ReadOnlyInline):
    model = AgentThought
    formset = limited_formset(200)
    fields = ("node_id", "parent_node_id", "node_type", "content", "confidence_score", "processing_time_ms",
              "created_at")
    readonly_fields = fields
    ordering = ("created_at",)
    verbose_name_plural = "Thoughts (first 200)"


@admin.register(WorkflowExecution)
class WorkflowExecutionAdmin(PolicyModelAdmin):
    list_display = ("execution_id", "workflow", "agent_name", "status", "execution_time_ms", "started_at",
                    "completed_at")
    list_filter = ("status", "started_at")
    list_select_related = ("workflow__agent",)
    search_fields = ("=execution_id", "workflow__name")
    search_uuid_fields = ("workflow_id",)
    autocomplete_fields = ("workflow",)
    date_hierarchy = "started_at"
    paginator = EstimatedCountPaginator
    input_data_pretty = json_display("input_data", "input data")
    output_data_pretty = json_display("output_data", "output data")
    error_data_pretty = json_display("error_data", "error data")
    readonly_fields = ("id", "input_data_pretty", "output_data_pretty", "error_data_pretty", "n8n_workflow_id",
                       "missing_at")
    fieldsets = (
        (None, {"fields": ("id", "workflow", "n8n_workflow_id", "execution_id", "status", "execution_time_ms",
                           "started_at", "completed_at", "missing_at")}),
        ("Data", {"fields": ("input_data_pretty", "output_data_pretty", "error_data_pretty")}),
    )
    inlines = (ThoughtInline,)

    @admin.display(description="agent", ordering="workflow__agent__name")
    @shows_columns("workflow_id")  # the workflow's agent: readable with the execution
    def agent_name(self, obj):
        return obj.workflow.agent if obj.workflow_id and obj.workflow.agent_id else "-"
