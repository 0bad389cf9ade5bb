"""REST endpoints for agents (CRUD, activate/pause) and agent templates.

The agent actions that need deployments (deploy, dashboard) are in workflows/api/views.py,
under the same /api/v1/agents/ prefix: workflows sits above agents.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.response import Response

from agents.api.filters import AgentFilterSet, AgentTemplateFilterSet
from agents.api.serializers import (
    AgentInstantiateSerializer,
    AgentSerializer,
    AgentTemplateSerializer,
)
from agents.models import Agent, AgentStatus, AgentTemplate
from agents.selectors import AgentRows, fetch_rows
from agents.services import agent_create_from_template, agent_set_status
from echelon.db.sqlmemo import compile_with, page_and_total
from echelon.policy import is_signed_in
from echelon.api.pagination import CataloguePagination, CountedPagePagination
from echelon.api.responses import ORJSONResponse
from echelon.api.schema import ErrorSerializer
from echelon.api.viewsets import PolicyViewSet

FORBIDDEN = OpenApiResponse(ErrorSerializer, description="Readable, but you may not change this agent.")
NOT_FOUND = OpenApiResponse(ErrorSerializer, description="No such agent, or not readable by you.")


@extend_schema_view(
    list=extend_schema(summary="Agents you may read (owner, or member of the agent's team)."),
    create=extend_schema(summary="Create an agent owned by you."),
    retrieve=extend_schema(summary="One agent."),
    update=extend_schema(summary="Replace an agent (owner, team admin or agent_manager)."),
    partial_update=extend_schema(summary="Change an agent; a new status goes through the status service."),
    destroy=extend_schema(summary="Delete an agent (owner only)."),
)
class AgentViewSet(PolicyViewSet):
    queryset = Agent.objects.all()
    serializer_class = AgentSerializer
    filterset_class = AgentFilterSet
    pagination_class = CountedPagePagination
    search_fields = ["name", "description"]
    ordering_fields = ["created_at", "updated_at", "name", "last_activity"]
    ordering = ["-updated_at", "id"]
    owner_field = "created_by"
    edit_actions = PolicyViewSet.edit_actions | {"activate", "pause"}

    def list(self, request, *args, **kwargs):
        # Hot path: plain rows + orjson instead of the ModelSerializer (same JSON shape), and
        # the total counted in the page's query (see docs/benchmarks.md, bench/bench_api.py).
        rows = AgentRows(lambda: self.filter_queryset(self.get_queryset()), user=request.user, with_total=True)
        if request.query_params.keys() <= {"page", "page_size"} and is_signed_in(request.user):
            source = self._memoized_page(rows)
        else:
            source = rows.queryset
        page = self.paginator.paginate_counted(source, request, view=self)
        return ORJSONResponse({
            "count": self.paginator.page.paginator.count,
            "next": self.paginator.get_next_link(),
            "previous": self.paginator.get_previous_link(),
            "results": rows.dicts(page),
        })

    def _memoized_page(self, rows):
        """The unfiltered page query, compiled once per (superuser?, offset, limit), its total
        kept per user until agents or memberships change (`page_and_total`)."""
        user = self.request.user
        plain = AgentRows(lambda: self.filter_queryset(self.get_queryset()), user=user)
        return lambda offset, limit: page_and_total(
            "agents.list", user, offset, limit, counted=lambda: rows.queryset, plain=lambda: plain.queryset,
            fetch=fetch_rows)

    def retrieve(self, request, *args, **kwargs):
        # Hot path: a plain GET of one agent answers its row as the list shapes it (AgentRows:
        # the policy's columns for this reader, jsonb as PostgreSQL wrote it, no serializer),
        # the policy's row query compiled once per process and kind of user; no row is the
        # 404 DRF's get_object would answer after asking again. Anything else takes DRF's way,
        # as does a request for another renderer than JSON (the browsable API). Reading needs
        # no object permission beyond the policy's rows: PolicyMixin checks edits and deletes only.
        plain = (not request.query_params and is_signed_in(request.user)
                 and request.accepted_renderer.format == "json")
        row = self._plain_row(request) if plain else None
        return ORJSONResponse(row) if row is not None else super().retrieve(request, *args, **kwargs)

    def _plain_row(self, request) -> dict | None:
        try:
            pk = Agent._meta.pk.to_python(self.kwargs.get(self.lookup_url_kwarg or self.lookup_field))
        except ValidationError:
            return None
        user = request.user
        rows = AgentRows(lambda: self.filter_queryset(self.get_queryset()).filter(pk=pk).order_by(), user=user)
        sql, params = compile_with(("agents.retrieve", bool(user.is_superuser)), (user.pk, pk), lambda: rows.queryset)
        found = fetch_rows(sql, params)
        if not found:  # invisible or missing: the primary key admits one row at most
            raise Http404
        return rows.dicts(found)[0]

    def _set_status(self, request, new_status):
        agent = self.get_object()
        agent_set_status(agent=agent, status=new_status, actor=request.user)
        return Response(AgentSerializer(agent, context=self.get_serializer_context()).data)

    @extend_schema(
        summary="Activate an agent (owner, team admin or agent_manager).", request=None,
        responses={200: AgentSerializer, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    @action(detail=True, methods=["post"])
    def activate(self, request, pk=None):
        return self._set_status(request, AgentStatus.ACTIVE)

    @extend_schema(
        summary="Pause an agent (owner, team admin or agent_manager).", request=None,
        responses={200: AgentSerializer, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    @action(detail=True, methods=["post"])
    def pause(self, request, pk=None):
        return self._set_status(request, AgentStatus.PAUSED)


@extend_schema_view(
    list=extend_schema(summary="Public templates and your own private ones."),
    create=extend_schema(summary="Create a template (you are its author)."),
    update=extend_schema(summary="Replace a template (author only)."),
    partial_update=extend_schema(summary="Change a template (author only)."),
    destroy=extend_schema(summary="Delete a template (author only)."),
)
class AgentTemplateViewSet(PolicyViewSet):
    queryset = AgentTemplate.objects.all()
    serializer_class = AgentTemplateSerializer
    filterset_class = AgentTemplateFilterSet
    pagination_class = CataloguePagination
    search_fields = ["name", "description"]
    ordering_fields = ["created_at", "name"]
    ordering = ["name", "id"]
    owner_field = "created_by"

    @extend_schema(
        summary="Create an agent from this template (type and deep-merged config).",
        request=AgentInstantiateSerializer,
        responses={201: AgentSerializer, 404: OpenApiResponse(ErrorSerializer, description="No such template.")},
    )
    @action(detail=True, methods=["post"])
    def instantiate(self, request, pk=None):
        template = self.get_object()
        params = AgentInstantiateSerializer(data=request.data, context=self.get_serializer_context())
        params.is_valid(raise_exception=True)
        agent = agent_create_from_template(template=template, actor=request.user, **params.validated_data)
        return Response(AgentSerializer(agent, context=self.get_serializer_context()).data,
                        status=status.HTTP_201_CREATED)
