"""Admin for deployments, workflows and workflow executions.

Execution counters and executions are written by ingestion (n8n sync and callbacks), so the
admin shows them read-only (`columns.ingested`); executions are a time series and use estimated
counts. Deployments change only through their state machine (the stop and redeploy actions).
"""

from __future__ import annotations

from django.contrib import admin, messages

from agents.admin import AgentAdmin
from echelon.admin import (
    EstimatedCountPaginator, PolicyInlineMixin, PolicyModelAdmin, ReadOnlyInline, json_display, limited_formset,
    status_badge,
)
from echelon.admin_columns import shows_columns
from notifications.models import AgentThought
from workflows.models import Deployment, Workflow, WorkflowExecution
from workflows.services import DeploymentStateError, ScheduleError
from workflows.services.deployments import DELETABLE, deployment_request, deployment_stop_request


class DeploymentInline(ReadOnlyInline):
    """The latest deployments, read-only: they change through their state machine (the
    deployments' stop / redeploy actions), and a new one is made by deploying."""

    model = Deployment
    formset = limited_formset(20)
    fields = ("version", "status", "trigger_type", "deployed_at", "stopped_at", "created_at")
    readonly_fields = fields
    ordering = ("-version",)
    verbose_name_plural = "Deployments (latest 20)"


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
    """Deployments move through their state machine (workflows.services.deployments) only: the
    actions *stop* and *redeploy* call it; the change form shows the record read-only; a new one is
    made by deploying (the agent page's action, the REST deploy endpoint); only finished ones
    (stopped, failed) are deleted, so n8n never keeps publishing what no row records."""

    list_display = ("agent", "version", "status_badge", "trigger_type", "deployed_at", "stopped_at", "created_at")
    list_filter = ("status", "trigger_type", "created_at", "deployed_at")
    list_select_related = ("agent",)
    search_fields = ("agent__name", "deployment_url")
    search_uuid_fields = ("agent_id",)
    autocomplete_fields = ("agent",)
    fields = ("id", "agent", "version", "status", "trigger_type", "trigger_config_pretty", "deployment_url",
              "error_message", "deployed_at", "stopped_at", "created_at", "reconcile_note")
    trigger_config_pretty = json_display("trigger_config", "trigger config")
    readonly_fields = ("trigger_config_pretty",)
    date_hierarchy = "created_at"
    actions = ("stop_deployments", "redeploy")
    status_badge = status_badge("status")

    adds_rows = False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.status not in DELETABLE:
            return False
        return super().has_delete_permission(request, obj)

    def delete_queryset(self, request, queryset):
        """Only finished deployments are deleted (the others are stopped first)."""
        super().delete_queryset(request, queryset.filter(status__in=DELETABLE))

    def _editable(self, request, queryset):
        # The actions change state: only deployments the user may change (the policy's rule).
        return self.policy.editable_by(request.user, queryset).select_related("agent").order_by("created_at")

    @admin.action(description="Stop selected deployments (unpublish in n8n)")
    def stop_deployments(self, request, queryset):
        stopped, refused = 0, []
        for deployment in self._editable(request, queryset):
            try:
                deployment_stop_request(deployment=deployment, actor=request.user)
                stopped += 1
            except DeploymentStateError as exc:
                refused.append(f"{deployment}: {exc}")
        self._report(request, f"{stopped} deployment(s) stopping (a worker unpublishes them; "
                              "pending ones are cancelled).", refused)

    @admin.action(description="Redeploy selected deployments' agents (a new version, same trigger)")
    def redeploy(self, request, queryset):
        started, refused = 0, []
        agents_done = set()
        for deployment in self._editable(request, queryset):
            if deployment.agent_id in agents_done:
                continue  # one new version per agent, however many of its deployments are selected
            agents_done.add(deployment.agent_id)
            config = {k: v for k, v in (deployment.trigger_config or {}).items() if k != "run_at"}
            try:
                deployment_request(agent=deployment.agent, actor=request.user, trigger_config=config)
                started += 1
            except (DeploymentStateError, ScheduleError) as exc:
                refused.append(f"{deployment.agent}: {exc}")
        self._report(request, f"{started} agent(s) redeployed (a worker publishes each; the outcome is on the deployment).", refused)

    def _report(self, request, done: str, refused: list[str]) -> None:
        self.message_user(request, done, messages.SUCCESS)
        for line in refused:
            self.message_user(request, line, messages.ERROR)


class RecentExecutionInline(ReadOnlyInline):
    model = WorkflowExecution
    formset = limited_formset(20)
    fields = ("execution_id", "status", "execution_time_ms", "started_at", "completed_at")
    readonly_fields = fields
    ordering = ("-started_at",)
    verbose_name_plural = "Recent executions (latest 20)"


@admin.register(Workflow)
class WorkflowAdmin(PolicyModelAdmin):
    list_display = ("name", "agent", "status_badge", "n8n_workflow_id", "execution_count", "success_count",
                    "error_count", "last_execution")
    status_badge = status_badge("status")
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
    list_display = ("execution_id", "workflow", "agent_name", "status_badge", "execution_time_ms", "started_at",
                    "completed_at")
    list_filter = ("status", ("workflow", admin.RelatedOnlyFieldListFilter), "started_at")
    status_badge = status_badge("status")
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
