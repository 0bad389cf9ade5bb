"""`ApiUsageMiddleware`: times every /api/ request and queues its api_usage row.

Sync and async capable, so under daphne it runs on the event loop without a thread hop. It
reads only what the request already holds (no query): the user as the view authenticated it
(DRF's JWT or session authentication sets `request.user` on the Django request), the route
pattern Django resolved, and the agent id when the route names one.
"""

from __future__ import annotations

import time
import uuid

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.utils.functional import SimpleLazyObject, empty

from monitoring.metering import UNMATCHED_ENDPOINT, normalize_route, price_for, recorder

API_PREFIX = "/api/"
# Routes whose own `pk` is an agent id (others name it as `agent_id` / `agent_pk`).
AGENT_ROUTE_PREFIX = "/api/v1/agents/{id}"
AGENT_KWARGS = ("agent_id", "agent_pk")


def _user_id(request):
    """The authenticated user's id without triggering a lazy session lookup (no query here)."""
    user = request.__dict__.get("user")
    if isinstance(user, SimpleLazyObject):
        user = user._wrapped
        if user is empty:
            return None
    if user is not None and getattr(user, "is_authenticated", False):
        return user.pk
    return None


def _as_uuid(value):
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError, AttributeError):
        return None


def _agent_id(request, endpoint: str, kwargs: dict):
    """The agent a request is about: set by the view, or named by the route's kwargs."""
    explicit = getattr(request, "metered_agent_id", None)
    if explicit is not None:
        return _as_uuid(explicit)
    for name in AGENT_KWARGS:
        if name in kwargs:
            return _as_uuid(kwargs[name])
    if "pk" in kwargs and endpoint.startswith(AGENT_ROUTE_PREFIX):
        return _as_uuid(kwargs["pk"])
    return None


def record_request(request, status_code: int, started_at: float, elapsed: float) -> None:
    match = request.resolver_match
    if match is not None and match.route:
        endpoint = normalize_route(match.route)
        agent_id = _agent_id(request, endpoint, match.kwargs)
    else:
        endpoint, agent_id = UNMATCHED_ENDPOINT, None
    method = request.method[:10]  # any token is a valid HTTP method; the column holds 10 characters
    recorder.record(
        _user_id(request), agent_id, endpoint, method, status_code,
        int(elapsed * 1000 + 0.5), price_for(method, endpoint), started_at,
    )


class ApiUsageMiddleware:
    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        self.enabled = settings.ECHELON_METERING
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request):
        if self.is_async:
            return self.__acall__(request)
        if not (self.enabled and request.path.startswith(API_PREFIX)):
            return self.get_response(request)
        started_at, clock = time.time(), time.perf_counter()
        response = self.get_response(request)
        record_request(request, response.status_code, started_at, time.perf_counter() - clock)
        return response

    async def __acall__(self, request):
        if not (self.enabled and request.path.startswith(API_PREFIX)):
            return await self.get_response(request)
        started_at, clock = time.time(), time.perf_counter()
        response = await self.get_response(request)
        record_request(request, response.status_code, started_at, time.perf_counter() - clock)
        return response
