"""Pagination: page numbers for catalogues, cursors for time series."""

from __future__ import annotations

from rest_framework.pagination import CursorPagination, PageNumberPagination


class CataloguePagination(PageNumberPagination):
    """`?page=N&page_size=M` (at most 200) for agents, templates, teams, deployments, workflows."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


class TimeSeriesPagination(CursorPagination):
    """Opaque cursors (`next`/`previous` links) for append-mostly tables; stable while rows arrive.

    Views set `cursor_ordering` (newest first on their timestamp, then id as a tie-breaker).
    """

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def get_ordering(self, request, queryset, view):
        return view.cursor_ordering
