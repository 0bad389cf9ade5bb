"""Pagination: page numbers for catalogues, cursors for time series.

Bad input never reaches the database (docs/fuzz-findings.md): a page number whose offset
PostgreSQL cannot hold (`?page=` with 30 nines was a 500 on agents) is a 404 like any page past
the end; a cursor whose position is not a value of its column, or a timestamp with an offset
PostgreSQL refuses (beyond ±15:59, a 500 on the five time series), is a 400 naming `cursor`
(the server issues positions in UTC, so such a cursor is forged or damaged).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.paginator import Page
from django.db.models import IntegerField, Subquery
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination, PageNumberPagination

# PostgreSQL's OFFSET is a bigint; a larger one is an error, not an empty page.
MAX_OFFSET = 2**63 - 1
# PostgreSQL's widest UTC offset (Python allows ±23:59).
MAX_UTC_OFFSET = timedelta(hours=15, minutes=59)


class StrictPageSize:
    """`?page_size=` must be a positive integer (capped at `max_page_size`); empty means the
    default. DRF silently falls back to the default for anything else, which hid client bugs
    and contradicted the schema (an integer); found by schemathesis."""

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param, "")
        if raw == "":
            return self.page_size
        try:
            size = int(raw)
        except ValueError:
            size = 0
        if size < 1:
            raise ValidationError({self.page_size_query_param: ["Must be a positive integer."]})
        return min(size, self.max_page_size)


class CataloguePagination(StrictPageSize, PageNumberPagination):
    """`?page=N&page_size=M` (at most 200) for agents, templates, teams, deployments, workflows."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


class TimeSeriesPagination(StrictPageSize, CursorPagination):
    """Opaque cursors (`next`/`previous` links) for append-mostly tables; stable while rows arrive.

    Views set `cursor_ordering` (newest first on their timestamp, then id as a tie-breaker).
    """

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def get_ordering(self, request, queryset, view):
        return view.cursor_ordering

    def paginate_queryset(self, queryset, request, view=None):
        # The column the cursor's position is compared with (DRF filters on the first ordering).
        self.position_field = queryset.model._meta.get_field(view.cursor_ordering[0].lstrip("-"))
        return super().paginate_queryset(queryset, request, view)

    def decode_cursor(self, request):
        cursor = super().decode_cursor(request)  # undecodable: DRF's 404 "Invalid cursor"
        if cursor is not None and cursor.position is not None:
            self._check_position(cursor.position)
        return cursor

    def _check_position(self, position: str) -> None:
        field = self.position_field
        try:
            value = field.to_python(position)
        except DjangoValidationError:
            value = None
        if value is None or (isinstance(value, datetime) and (
                value.tzinfo is None or abs(value.utcoffset()) > MAX_UTC_OFFSET)):
            raise ValidationError({self.cursor_query_param: [
                f"Not a cursor this server issued: its position is not a valid {field.name} value. "
                "Use the next/previous links as given."]})


class CountOf(Subquery):
    """`(SELECT COUNT(*) FROM (<queryset>))`: a page query can carry its total as a column,
    computed once by PostgreSQL (an InitPlan), saving the separate COUNT round trip."""

    template = "(SELECT COUNT(*) FROM (%(subquery)s) AS counted)"
    output_field = IntegerField()


class CountedPagePagination(CataloguePagination):
    """Page numbers from one query whose rows end with the total (see `CountOf`).

    `?page=last` is not supported (it needs the count first); an out-of-range page is a 404
    like DRF's.
    """

    def paginate_counted(self, queryset, request, view=None) -> list:
        """`queryset` yields tuples whose last item is the total; returns the page's tuples.

        `queryset` may also be a function `(offset, limit) -> (rows, total)` (e.g.
        `echelon.db.sqlmemo.page_and_total`; total None: not known, the page being empty).
        """
        self.request = request
        page_size = self.get_page_size(request)
        raw = request.query_params.get(self.page_query_param) or "1"
        try:
            number = int(raw)
            if number < 1:
                raise ValueError
        except ValueError:
            raise NotFound(self.invalid_page_message.format(page_number=raw, message="That page number is not valid.")) from None
        offset = (number - 1) * page_size
        if offset > MAX_OFFSET - page_size:  # far past any table's end; PostgreSQL would refuse it
            raise NotFound(self.invalid_page_message.format(page_number=raw, message="That page contains no results."))
        if callable(queryset):
            rows, total = queryset(offset, page_size)
        else:
            rows = list(queryset[offset:offset + page_size])
            total = rows[0][-1] if rows else 0
        if not rows and number > 1:
            raise NotFound(self.invalid_page_message.format(page_number=raw, message="That page contains no results."))
        paginator = self.django_paginator_class([], page_size)
        paginator.count = total  # a cached_property: set once, here
        self.page = Page(rows, number, paginator)
        return rows
