"""REST endpoints for notifications (recipient only) and agent thoughts (read-only)."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework.decorators import action
from rest_framework.response import Response

from echelon.api.pagination import TimeSeriesPagination
from echelon.api.viewsets import TIME_SERIES_FILTERS, ReadDeletePolicyViewSet, ReadOnlyPolicyViewSet
from echelon.db.sqlmemo import count_with
from echelon.policy import is_signed_in
from notifications.api.filters import AgentThoughtFilterSet, NotificationFilterSet
from notifications.api.serializers import (
    AgentThoughtSerializer,
    MarkedSerializer,
    NotificationSerializer,
    UnreadCountSerializer,
)
from notifications.models import AgentThought, Notification
from notifications.services import notifications_mark_read


@extend_schema_view(
    list=extend_schema(summary="Your notifications, newest first (expired ones excluded)."),
    destroy=extend_schema(summary="Delete one of your notifications."),
)
class NotificationViewSet(ReadDeletePolicyViewSet):
    queryset = Notification.objects.all()
    serializer_class = NotificationSerializer
    filterset_class = NotificationFilterSet
    pagination_class = TimeSeriesPagination
    cursor_ordering = ("-created_at", "-id")
    filter_backends = TIME_SERIES_FILTERS
    edit_actions = frozenset({"mark_read"})

    def get_queryset(self, now=None):
        return super().get_queryset().unexpired(now)

    @extend_schema(summary="Mark one notification read.", request=None, responses={200: NotificationSerializer})
    @action(detail=True, methods=["post"], url_path="mark-read")
    def mark_read(self, request, pk=None):
        notification = self.get_object()
        notifications_mark_read(user=request.user, ids=[notification.pk])
        notification.refresh_from_db(fields=["read_at"])
        return Response(NotificationSerializer(notification, context=self.get_serializer_context()).data)

    @extend_schema(summary="Mark all your unread notifications read.", request=None,
                   responses={200: MarkedSerializer}, filters=False)
    @action(detail=False, methods=["post"], url_path="mark-all-read", filter_backends=[], pagination_class=None)
    def mark_all_read(self, request):
        return Response({"marked": notifications_mark_read(user=request.user)})

    @extend_schema(summary="How many unread, unexpired notifications you have.",
                   responses={200: UnreadCountSerializer}, filters=False)
    @action(detail=False, methods=["get"], url_path="unread-count", filter_backends=[], pagination_class=None)
    def unread_count(self, request):
        # Polled by every open page: the count's SQL is compiled once per process and kind of
        # user, then only the user id and the time are swapped in (the ORM's building and
        # compiling were ~30% of the request's Python time).
        user, now = request.user, timezone.now()
        if not is_signed_in(user):
            return Response({"unread": self.get_queryset(now).unread().count()})
        unread = count_with(("notifications.unread", bool(user.is_superuser)), (user.pk, now),
                            lambda: self.get_queryset(now).unread())
        return Response({"unread": unread})


@extend_schema_view(list=extend_schema(summary="Thoughts of agents you may read (cursor pages)."))
class AgentThoughtViewSet(ReadOnlyPolicyViewSet):
    """Written by ingestion (callbacks, batches); users read them."""

    queryset = AgentThought.objects.all()
    serializer_class = AgentThoughtSerializer
    filterset_class = AgentThoughtFilterSet
    pagination_class = TimeSeriesPagination
    cursor_ordering = ("-created_at", "-id")
    filter_backends = TIME_SERIES_FILTERS
