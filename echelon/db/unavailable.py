"""503 while the database is unreachable, instead of a 500 per request.

When PostgreSQL restarts (or the network to it drops), every query raises Django's
`OperationalError` (connection refused, server closed the connection) or `InterfaceError` (a
connection already closed). `DatabaseUnavailableMiddleware` turns those into
`503 Service Unavailable` with `Retry-After` and the API's JSON error shape, for every view
(DRF re-raises exceptions its handler does not know, so they reach `process_exception`).

Recovery needs no restart of Echelon: Django marks a connection that raised as
`errors_occurred`, and at the end of the request (`close_old_connections`) closes it when it is
no longer usable; `CONN_HEALTH_CHECKS` also checks a persistent connection before its first use
in each request. With `DATABASE_POOL`, the pool discards broken connections when Django hands
them back and checks each one before lending it (`settings.py`). The next request connects afresh.

Only the errors that mean "cannot talk to the database" are mapped: a `DataError` or
`IntegrityError` is the request's own fault and is handled elsewhere (4xx).
"""

from __future__ import annotations

import logging
import time

from django.db import InterfaceError, OperationalError
from django.http import JsonResponse
from django.utils.deprecation import MiddlewareMixin

from echelon.api.exceptions import error_body
from echelon.outage import one_line

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5
LOG_EVERY_SECONDS = 10.0  # one warning per outage burst, not one per request

_last_logged = 0.0


def unavailable_response() -> JsonResponse:
    response = JsonResponse(
        error_body(code="service_unavailable",
                   message=f"The database is unavailable. Retry in {RETRY_AFTER_SECONDS} s."),
        status=503,
    )
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


class DatabaseUnavailableMiddleware(MiddlewareMixin):
    """Maps a lost database connection to 503 + Retry-After (sync and async capable)."""

    def process_exception(self, request, exception):
        if not isinstance(exception, (OperationalError, InterfaceError)):
            return None
        global _last_logged
        now = time.monotonic()
        if now - _last_logged >= LOG_EVERY_SECONDS:
            _last_logged = now
            logger.warning("database unavailable, answering 503 (%s)", one_line(exception))
        return unavailable_response()
