"""`OpsMiddleware` (first in MIDDLEWARE): the operators' endpoints and the request metrics.

`/healthz`, `/readyz` and `/metrics` are answered here, before anything else runs: a load
balancer asks by IP address (no ALLOWED_HOSTS check, no HTTPS redirect, no session, no
metering), and the answer costs one path comparison for every other request. Every other request
is timed and counted by route pattern (`echelon.serving.metrics`). Sync and async capable, so
it adds no thread hop under ASGI.
"""

from __future__ import annotations

import time

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.http import HttpResponse, JsonResponse

from echelon.serving import health, metrics
from monitoring.metering import UNMATCHED_ENDPOINT, normalize_route


def healthz() -> HttpResponse:
    return HttpResponse(b"ok\n", content_type="text/plain")


def readyz() -> JsonResponse:
    ready, checks = health.run_checks()
    return JsonResponse({"ready": ready, "checks": checks}, status=200 if ready else 503)


def _observe(request, response, started: float) -> None:
    match = getattr(request, "resolver_match", None)
    route = normalize_route(match.route) if match is not None and match.route else UNMATCHED_ENDPOINT
    method = request.method if request.method in _METHODS else "OTHER"
    metrics.HTTP_LATENCY.labels(route, method).observe(time.perf_counter() - started)
    metrics.HTTP_REQUESTS.labels(route, method, str(response.status_code)).inc()
    metrics.sample_pool()


_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_OPS_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


class OpsMiddleware:
    sync_capable = True
    async_capable = True

    def __init__(self, get_response) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request):
        if self.is_async:
            return self.__acall__(request)
        if request.path_info in _OPS_PATHS:
            return self._ops(request)
        started = time.perf_counter()
        response = self.get_response(request)
        _observe(request, response, started)
        return response

    async def __acall__(self, request):
        if request.path_info in _OPS_PATHS:
            if request.path_info == "/healthz":
                return healthz()
            return await sync_to_async(self._ops, thread_sensitive=True)(request)
        started = time.perf_counter()
        response = await self.get_response(request)
        _observe(request, response, started)
        return response

    @staticmethod
    def _ops(request) -> HttpResponse:
        if request.path_info == "/healthz":
            return healthz()
        if request.path_info == "/readyz":
            return readyz()
        return metrics.metrics_response(request)
