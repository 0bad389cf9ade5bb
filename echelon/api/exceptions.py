"""One JSON error shape for every API failure.

Every error body is ``{"error": {"code", "message", "fields"}}``: ``code`` is machine-readable
(DRF's default codes: ``invalid``, ``not_found``, ``permission_denied``, ...), ``message`` is
one sentence naming the problem (and the first offending field), and ``fields`` maps field
names to their messages (empty when the error is not about fields).
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.db.models import ProtectedError, RestrictedError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from echelon import errors


class PayloadTooLarge(exceptions.APIException):
    """A body over Django's DATA_UPLOAD_MAX_MEMORY_SIZE met where code read `request.body`
    (the usual path is echelon.api.bodylimit, before the view, with the route's own limit)."""

    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "body_too_large"

    def __init__(self):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        super().__init__(f"The request body is over the limit of {limit} bytes.")
        self.detail = {"detail": self.detail, "code": self.default_code, "limit_bytes": limit}


def _flatten(detail, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error detail → {"field.sub": [messages]}."""
    out: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            out.update(_flatten(value, name))
    elif isinstance(detail, list):
        if all(not isinstance(item, (dict, list)) for item in detail):
            out[prefix or "non_field_errors"] = [str(item) for item in detail]
        else:
            for index, item in enumerate(detail):
                out.update(_flatten(item, f"{prefix}[{index}]" if prefix else f"[{index}]"))
    else:
        out[prefix or "non_field_errors"] = [str(detail)]
    return out


def _first_code(detail) -> str:
    if isinstance(detail, dict):
        detail = next(iter(detail.values()), None)
        return _first_code(detail)
    if isinstance(detail, list):
        return _first_code(detail[0]) if detail else "invalid"
    return getattr(detail, "code", None) or "invalid"


def error_body(*, code: str, message: str, fields: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def domain_error_response(exc: errors.DomainError) -> Response:
    """A service's refusal (echelon.errors) in the shared shape, its facts beside the message."""
    body = error_body(code=exc.kind, message=exc.message, fields={exc.field: [exc.message]} if exc.field else None)
    body["error"].update(exc.facts)
    headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after is not None else None
    set_rollback()  # as DRF does for its own exceptions (ATOMIC_REQUESTS)
    return Response(body, status=errors.STATUS_OF_KIND[exc.kind], headers=headers)


def api_exception_handler(exc, context):
    """DRF exception handler producing the shared error shape; never lets bad input become a 500."""
    if isinstance(exc, errors.DomainError):
        return domain_error_response(exc)
    if isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge()
    elif isinstance(exc, DjangoPermissionDenied) and str(exc):
        exc = exceptions.PermissionDenied(str(exc))  # a service's reason, not DRF's generic sentence
    elif isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    elif isinstance(exc, (ProtectedError, RestrictedError)):
        rows = getattr(exc, "protected_objects", None) or getattr(exc, "restricted_objects", ())
        blockers = sorted({str(obj._meta.verbose_name_plural) for obj in rows})
        return domain_error_response(
            errors.Conflict(f"Cannot delete this row: related {', '.join(blockers)} still reference it."))
    elif isinstance(exc, IntegrityError):
        # A constraint caught what validation missed (e.g. a concurrent duplicate): the client's
        # request clashes with stored rows.
        return domain_error_response(
            errors.Conflict("The request conflicts with existing data (a unique or check constraint failed)."))
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten(exc.detail)
        field, messages = next(iter(fields.items()))
        if field == "non_field_errors":
            message = messages[0]
        else:
            message = f"{field}: {messages[0]}"
        body = error_body(code=_first_code(exc.detail), message=message, fields=fields)
    elif isinstance(exc, Http404):
        body = error_body(code="not_found", message="Not found.")
    elif isinstance(exc, exceptions.APIException):
        detail = exc.detail
        extra = {}
        if isinstance(detail, dict):  # e.g. simplejwt's {"detail", "code", "messages"}
            message = str(detail.get("detail", detail))
            code = str(detail.get("code", exc.default_code))
            # Facts beside the message (e.g. a quota's tier and limit) stay machine-readable.
            extra = {k: v for k, v in detail.items() if k not in ("detail", "code", "messages")}
        else:
            message, code = str(detail), getattr(detail, "code", exc.default_code)
        body = error_body(code=code, message=message)
        body["error"].update(extra)
    else:  # pragma: no cover - DRF only handles the cases above
        return response
    return Response(body, status=response.status_code, headers=_headers(response))


def _headers(response) -> dict:
    return {k: v for k, v in response.items() if k in ("WWW-Authenticate", "Retry-After", "Allow")}


def _api_json(request, status_code: int, code: str, message: str):
    """A Django error handler's answer under /api/: the API's JSON shape; None elsewhere."""
    if not request.path.startswith("/api/"):
        return None
    from django.http import JsonResponse

    return JsonResponse(error_body(code=code, message=message), status=status_code)


def bad_request(request, exception=None):
    """Django's `handler400` (SuspiciousOperation, e.g. a body over DATA_UPLOAD_MAX_MEMORY_SIZE
    read outside DRF): JSON under /api/, 413 for a body too large; Django's page elsewhere."""
    if isinstance(exception, RequestDataTooBig):
        response = _api_json(request, 413, "body_too_large",
                             f"The request body is over the limit of {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes.")
    else:
        response = _api_json(request, 400, "bad_request", "Bad request.")
    if response is not None:
        return response
    from django.views.defaults import bad_request as django_bad_request

    return django_bad_request(request, exception)


def server_error(request):
    """Django's `handler500`: JSON under /api/ (no HTML, no details), Django's page elsewhere."""
    response = _api_json(request, 500, "server_error", "Internal server error.")
    if response is not None:
        return response
    from django.views.defaults import server_error as django_server_error

    return django_server_error(request)


class ApiNotFoundAsJson:
    """Middleware: a 404 page under /api/ becomes the API's JSON error in every mode. `handler404`
    (below) answers so only with DEBUG off; with DEBUG on (`make run`) Django renders its
    technical HTML page for an unmatched URL, which no API client can read."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code == 404 and request.path.startswith("/api/") \
                and response.get("Content-Type", "").startswith("text/html"):
            return not_found(request)
        return response


def not_found(request, exception=None):
    """Django's `handler404`: a URL under /api/ that no route matches (e.g. `/api/v1/agents/0.5/`,
    the router's id pattern refuses dots) answers the API's JSON error, not an HTML page."""
    if request.path.startswith("/api/"):
        from django.http import JsonResponse

        return JsonResponse(error_body(code="not_found", message="Not found."), status=404)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)
