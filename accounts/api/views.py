"""REST endpoints for teams, memberships (`team-roles`) and users (`users/me`)."""

from __future__ import annotations

from django.db import transaction
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.api.filters import TeamFilterSet, TeamRoleFilterSet, UserFilterSet
from accounts.api.serializers import TeamRoleSerializer, TeamSerializer, UserSerializer
from accounts.models import Team, User, UserRole
from accounts.services import role_revoke
from echelon.api.pagination import CataloguePagination
from echelon.api.schema import ErrorSerializer
from echelon.api.viewsets import PolicyViewSet, ReadOnlyPolicyViewSet

LAST_ADMIN = OpenApiResponse(ErrorSerializer, description="The team's last admin cannot be removed or demoted.")


@extend_schema_view(
    list=extend_schema(summary="Teams you are a member of."),
    create=extend_schema(summary="Create a team; you become its admin."),
    update=extend_schema(summary="Replace a team (team admin)."),
    partial_update=extend_schema(summary="Change a team (team admin)."),
    destroy=extend_schema(summary="Delete a team (team admin); its agents stay with their owners."),
)
class TeamViewSet(PolicyViewSet):
    queryset = Team.objects.all()
    serializer_class = TeamSerializer
    filterset_class = TeamFilterSet
    pagination_class = CataloguePagination
    search_fields = ["name", "slug"]
    ordering_fields = ["created_at", "updated_at", "name"]
    ordering = ["name", "id"]
    owner_field = "created_by"


@extend_schema_view(
    list=extend_schema(summary="Memberships of the teams you belong to."),
    create=extend_schema(summary="Add a member to a team you administer (`granted_by` = you).",
                         responses={201: TeamRoleSerializer, 409: OpenApiResponse(ErrorSerializer,
                                                                                  description="Already a member.")}),
    update=extend_schema(summary="Change a member's role (team admin).", responses={200: TeamRoleSerializer,
                                                                                   409: LAST_ADMIN}),
    partial_update=extend_schema(summary="Change a member's role (team admin).",
                                 responses={200: TeamRoleSerializer, 409: LAST_ADMIN}),
    destroy=extend_schema(summary="Remove a member (team admin), or leave a team (your own membership).",
                          responses={204: None, 409: LAST_ADMIN}),
)
class TeamRoleViewSet(PolicyViewSet):
    queryset = UserRole.objects.all()
    serializer_class = TeamRoleSerializer
    filterset_class = TeamRoleFilterSet
    pagination_class = CataloguePagination
    ordering_fields = ["granted_at", "role"]
    ordering = ["granted_at", "id"]
    owner_field = "granted_by"

    def ensure_editable(self, instance):
        # An admin stepping down edits their own row out of their reach; that is the point.
        if instance.user_id == self.request.user.pk:
            return
        super().ensure_editable(instance)

    def perform_destroy(self, instance):
        with transaction.atomic():
            role_revoke(membership=instance, actor=self.request.user)


@extend_schema_view(list=extend_schema(summary="You (your profile) and the members of your teams (public profiles)."))
class UserViewSet(ReadOnlyPolicyViewSet):
    queryset = User.objects.all()
    serializer_class = UserSerializer
    filterset_class = UserFilterSet
    pagination_class = CataloguePagination
    search_fields = ["email", "full_name"]
    ordering_fields = ["email", "full_name", "created_at"]
    ordering = ["email"]

    @extend_schema(methods=["GET"], summary="Your profile.", responses={200: UserSerializer}, filters=False)
    @extend_schema(methods=["PATCH"], summary="Change your profile (not tier, staff or superuser flags).",
                   request=UserSerializer, responses={200: UserSerializer})
    @action(detail=False, methods=["get", "patch"], filter_backends=[], pagination_class=None)
    def me(self, request):
        if request.method == "GET":
            return Response(self.get_serializer(request.user).data)
        serializer = self.get_serializer(request.user, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        with transaction.atomic():
            serializer.save()
        return Response(serializer.data)
