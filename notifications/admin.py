"""Admin for notifications and agent thoughts (both time series: estimated counts)."""

from __future__ import annotations

from django.contrib import admin, messages

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
    list_display = ("title", "user", "type", "priority", "is_read", "created_at", "read_at", "expires_at")
    list_filter = (ReadStateFilter, "type", "priority", "created_at")
    list_select_related = ("user",)
    search_fields = ("title", "user__email")
    search_uuid_fields = ("user_id",)
    autocomplete_fields = ("user",)
    date_hierarchy = "created_at"
    paginator = EstimatedCountPaginator
    data_pretty = json_display("data")
    readonly_fields = ("id", "created_at", "data_pretty")
    fields = ("id", "user", "type", "priority", "title", "message", "data", "data_pretty", "read_at",
              "expires_at", "created_at")
    actions = ("mark_read",)
    # Notifications are sent by the server; a recipient only marks them read (superusers may write one).
    staff_can_add = False

    @admin.display(boolean=True, description="read", ordering="read_at")
    @shows_columns("read_at")
    def is_read(self, obj):
        return obj.read_at is not None

    @admin.action(description="Mark selected notifications read")
    def mark_read(self, request, queryset):
        by_user: dict = {}
        for user_id, pk in queryset.unread().values_list("user_id", "pk"):
            by_user.setdefault(user_id, []).append(pk)
        count = sum(notifications_mark_read(user=user_id, ids=ids) for user_id, ids in by_user.items())
        self.message_user(request, f"{count} notification(s) marked read.", messages.SUCCESS)


@admin.register(AgentThought)
class AgentThoughtAdmin(PolicyModelAdmin):
    list_display = ("node_id", "node_type", "agent", "execution", "parent_node_id", "confidence_score",
                    "processing_time_ms", "created_at")
    list_filter = ("node_type", "created_at")
    list_select_related = ("agent", "execution")
    search_fields = ("=node_id", "=parent_node_id")
    search_uuid_fields = ("agent_id", "execution_id")
    autocomplete_fields = ("agent",)
    raw_id_fields = ("execution",)
    date_hierarchy = "created_at"
    paginator = EstimatedCountPaginator
    metadata_pretty = json_display("metadata")
    readonly_fields = ("id", "created_at", "metadata_pretty")
    fields = ("id", "agent", "execution", "node_id", "parent_node_id", "node_type", "content", "metadata",
              "metadata_pretty", "confidence_score", "processing_time_ms", "created_at")
