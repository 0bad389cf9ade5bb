"""Request body limits under /api/: 413 in the API's JSON error shape, naming the limit.

Django's own limit (`DATA_UPLOAD_MAX_MEMORY_SIZE`, 2.5 MiB) is checked only where code reads
`request.body`, and answers with its HTML 400 page (RequestDataTooBig); DRF's parsers read the
stream and check nothing. Here one rule covers every API view, before the view runs:

- `ECHELON_MAX_BODY_BYTES` (default 2.5 MiB, Django's default) for every /api/ route;
- a view may declare its own `max_body_bytes` (the bulk metrics endpoint: its documented
  10,000 rows with metadata measure 2.2-2.8 MiB, so it takes `ECHELON_BULK_MAX_BODY_BYTES`,
  16 MiB; docs/fuzz-findings.md).

The size is the declared Content-Length, or the buffered body's real size when the server
buffered it in a seekable file (ASGI; chunked bodies carry no Content-Length). Only a request
with a body resolves its route here (to find the view's limit): reads cost nothing, and the
middleware is sync and async capable, so daphne runs it on the event loop without a thread hop.
Unmatched paths are left to the API's JSON 404. RequestDataTooBig raised anywhere else under
/api/ still becomes the same 413 (`echelon.api.exceptions`).
"""

from __future__ import annotations

import os

from django.conf import settings
from django.http import JsonResponse
from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.urls import Resolver404, resolve

from echelon.api.exceptions import error_body

API_PREFIX = "/api/"
MIB = 1024 * 1024


def default_limit() -> int:
    return int(settings.ECHELON_MAX_BODY_BYTES)


def limit_for(view_func) -> int:
    """The body limit of a resolved view: its action's `max_body_bytes` (`@action(...,
    max_body_bytes=...)`), else its class', else the default."""
    view_class = getattr(view_func, "cls", None) or getattr(view_func, "view_class", None)
    declared = (getattr(view_func, "initkwargs", None) or {}).get("max_body_bytes")
    if declared is None:
        declared = getattr(view_class, "max_body_bytes", None)
    return int(declared() if callable(declared) else declared) if declared is not None else default_limit()


def body_size(request) -> int:
    """The request body's size in bytes, without reading it."""
    length = request.META.get("CONTENT_LENGTH") or ""
    size = int(length) if length.isdigit() else 0
    stream = getattr(request, "_stream", None)  # Django's own check looks here too (HttpRequest.body)
    if stream is not None and getattr(stream, "seekable", lambda: False)():
        position = stream.tell()
        size = max(size, stream.seek(0, os.SEEK_END))
        stream.seek(position)
    return size


def too_large(size: int, limit: int) -> JsonResponse:
    shown = f"{limit / MIB:g} MiB" if limit >= MIB else f"{limit} bytes"
    body = error_body(code="body_too_large",
                      message=f"The request body is {size} bytes; this endpoint accepts at most {limit} bytes ({shown}).")
    body["error"]["limit_bytes"] = limit
    return JsonResponse(body, status=413)


def refusal(request) -> JsonResponse | None:
    """413 when the request's body is over its route's limit, else None."""
    if not request.path.startswith(API_PREFIX):
        return None
    size = body_size(request)
    if size == 0:
        return None
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return None
    limit = limit_for(match.func)
    if size <= limit:
        return None
    request.resolver_match = match  # the usage row names the route (monitoring.middleware)
    return too_large(size, limit)


class BodyLimitMiddleware:
    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request):
        if self.is_async:
            return self.__acall__(request)
        return refusal(request) or self.get_response(request)

    async def __acall__(self, request):
        return refusal(request) or await self.get_response(request)
