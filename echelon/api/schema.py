"""OpenAPI: every operation documents its error responses in the shared error shape."""

from __future__ import annotations

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from drf_spectacular.openapi import AutoSchema
from rest_framework import serializers


class EchelonJWTScheme(SimpleJWTScheme):
    """The bearer scheme of `echelon.auth.authentication.JWTAuthentication` (simplejwt's)."""

    target_class = "echelon.auth.authentication.JWTAuthentication"


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Machine-readable code, e.g. invalid, not_found, permission_denied.")
    message = serializers.CharField(help_text="One sentence naming the problem and the field.")
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Messages per field (dotted paths for nested fields); empty when not about fields.",
    )


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


ERROR_DESCRIPTIONS = {
    "400": "Invalid input (body, filter or query parameter); the message names the field.",
    "401": "Not authenticated (missing, invalid or expired token).",
    "403": "The row is readable but the user may not do this to it.",
    "404": "No such row, or the user may not read it.",
    "409": "The request conflicts with the current state.",
    "413": "The request body is over this endpoint's limit (error.limit_bytes; docs/fuzz-findings.md).",
    "429": "Over the subscription tier's request quota; see Retry-After.",
}
LIST_404 = "The page number is out of range or not a number, or the cursor is malformed."


# Summaries of a viewset's standard actions (an explicit `extend_schema(summary=...)` wins).
ACTION_SUMMARIES = {
    "list": "List {plural} you may read",
    "retrieve": "Get one {singular}",
    "create": "Create a {singular}",
    "update": "Replace a {singular} (every writable field)",
    "partial_update": "Change some fields of a {singular}",
    "destroy": "Delete a {singular}",
}


class EchelonAutoSchema(AutoSchema):
    """Adds 400/401/403/404 error responses (with the error body) where they can happen, and a
    summary to every operation: a standard action's is made from its model's name, any other
    must declare one (tests/api/test_schema.py fails an operation without)."""

    def get_summary(self):
        action = getattr(self.view, "action", None)
        queryset = getattr(self.view, "queryset", None)
        if action in ACTION_SUMMARIES and queryset is not None:
            meta = queryset.model._meta
            return ACTION_SUMMARIES[action].format(singular=meta.verbose_name, plural=meta.verbose_name_plural)
        return None

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        codes = []
        if getattr(self.view, "permission_classes", None) and not self._allows_anonymous():
            codes.append("401")
        if self.method in ("POST", "PUT", "PATCH") or self._has_filters() or self._is_cursor_list():
            codes.append("400")  # a cursor naming no valid position is a 400 (echelon.api.pagination)
        if self._is_detail():
            codes += ["403", "404"] if self.method != "GET" else ["404"]
        elif self._is_paginated_list():
            codes.append("404")
        if self.method in ("POST", "PUT", "PATCH", "DELETE"):
            # Any write can meet a constraint (unique, check, a protected delete): 409.
            codes.append("409")
        if self.method in ("POST", "PUT", "PATCH"):
            codes.append("413")  # echelon.api.bodylimit
        if self._is_throttled():
            codes.append("429")
        for code in codes:
            if code not in responses:
                responses[code] = self._get_response_for_code(ErrorSerializer, code, direction=direction)
                responses[code]["description"] = (
                    LIST_404 if code == "404" and not self._is_detail() else ERROR_DESCRIPTIONS[code])
        return responses

    def _map_basic_serializer(self, serializer, direction):
        """A row's response fields that some reader kinds do not get (a teammate's `users` row
        has no tier) are optional in the schema; the others stay required."""
        schema = super()._map_basic_serializer(serializer, direction)
        every_reader = getattr(serializer, "fields_for_every_reader", None)
        if direction == "response" and every_reader is not None and "required" in schema:
            required = [name for name in schema["required"] if name in every_reader()]
            if required:
                schema["required"] = required
            else:
                del schema["required"]
        return schema

    def _is_paginated_list(self) -> bool:
        return self.method == "GET" and self._is_list_view() and self._get_paginator() is not None

    def _is_cursor_list(self) -> bool:
        from rest_framework.pagination import CursorPagination

        return self._is_paginated_list() and isinstance(self._get_paginator(), CursorPagination)

    def _is_throttled(self) -> bool:
        from django.conf import settings

        if self.path.startswith(tuple(settings.ECHELON_RATE_LIMIT_EXEMPT_PATHS)):
            return False
        return bool(getattr(self.view, "throttle_classes", None))

    def _allows_anonymous(self) -> bool:
        from rest_framework.permissions import AllowAny

        return any(p is AllowAny for p in self.view.permission_classes)

    def _has_filters(self) -> bool:
        return self.method == "GET" and bool(getattr(self.view, "filterset_class", None))

    def _is_detail(self) -> bool:
        return "{" in self.path


def document_empty_query_values(result, generator, request, public):
    """drf-spectacular postprocessing hook: every optional query parameter accepts an empty
    value, which means "not given" (django-filter, search, ordering, pagination and the
    monitoring parameters all read it so, as HTML forms send empty fields). Documented as
    `allowEmptyValue` so the schema no longer contradicts the API (found by schemathesis)."""
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", ()):
                if parameter.get("in") == "query" and not parameter.get("required"):
                    parameter["allowEmptyValue"] = True
    return result
