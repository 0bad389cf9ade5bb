"""Admin for notifications and agent thoughts (both time series: estimated counts)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html

from echelon.admin import EstimatedCountPaginator, PolicyModelAdmin, json_display
from echelon.admin_columns import shows_columns
from notifications.models import AgentThought, Notification
from notifications.services import notifications_mark_read


class ReadStateFilter(admin.SimpleListFilter):
    title = "read"
    parameter_name = "read"

    def lookups(self, request, model_admin):
        return (("no", "Unread"), ("yes", "Read"))

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(read_at__isnull=self.value() == "no")
        return queryset


@admin.register(Notification)
class NotificationAdmin(PolicyModelAdmin):
    list_display = ("title", "user", "type", "priority", "is_read", "agent_link", "created_at")
    list_filter = (ReadStateFilter, "type", "priority", "created_at")
    list_select_related = ("user",)
    search_fields = ("title", "user__email")
    search_uuid_fields = ("user_id",)
    autocomplete_fields = ("user",)
    date_hierarchy = "created_at"
    paginator = EstimatedCountPaginator
    data_pretty = json_display("data")
    readonly_fields = ("id", "created_at", "data_pretty")
    fields = ("id", "user", "type", "priority", "title", "message", "data_pretty", "read_at",
              "expires_at", "created_at")
    actions = ("mark_read",)

    # Notifications are sent by the server (notifications.services); here they are only marked
    # read, by the action (the same service as the REST mark-read), never added or edited.
    adds_rows = False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(boolean=True, description="read", ordering="read_at")
    @shows_columns("read_at")
    def is_read(self, obj):
        return obj.read_at is not None

    @admin.display(description="agent")
    @shows_columns("data")
    def agent_link(self, obj):
        """The agent the notification is about (its `data.agent_id`), linked to its web page."""
        agent_id = (obj.data or {}).get("agent_id") if isinstance(obj.data, dict) else None
        if not agent_id:
            return "-"
        return format_html('<a href="{}">{}</a>', reverse("web-agent", args=[agent_id]),
                           (obj.data or {}).get("agent_name") or "open")

    @admin.action(description="Mark selected notifications read")
    def mark_read(self, request, queryset):
        by_user: dict = {}
        for user_id, pk in queryset.unread().values_list("user_id", "pk"):
            by_user.setdefault(user_id, []).append(pk)
        count = sum(notifications_mark_read(user=user_id, ids=ids) for user_id, ids in by_user.items())
        self.message_user(request, f"{count} notification(s) marked read.", messages.SUCCESS)


@admin.register(AgentThought)
class AgentThoughtAdmin(PolicyModelAdmin):
    list_display = ("node_id", "node_type", "content_start", "agent", "confidence_score", "created_at")
    list_filter = ("node_type", ("agent", admin.RelatedOnlyFieldListFilter), "created_at")
    list_select_related = ("agent", "execution__workflow")
    search_fields = ("=node_id", "=parent_node_id")
    search_uuid_fields = ("agent_id", "execution_id")
    autocomplete_fields = ("agent",)
    raw_id_fields = ("execution",)
    date_hierarchy = "created_at"
    paginator = EstimatedCountPaginator
    metadata_pretty = json_display("metadata")
    readonly_fields = ("id", "created_at", "metadata_pretty")

    @admin.display(description="content", ordering="content")
    @shows_columns("content")
    def content_start(self, obj):
        return obj.content if len(obj.content) <= 80 else obj.content[:79] + "…"
    fields = ("id", "agent", "execution", "node_id", "parent_node_id", "node_type", "content",
              "metadata_pretty", "confidence_score", "processing_time_ms", "created_at")
