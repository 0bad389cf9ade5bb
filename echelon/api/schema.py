"""OpenAPI: every operation documents its error responses in the shared error shape."""

from __future__ import annotations

from drf_spectacular.openapi import AutoSchema
from rest_framework import serializers


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
}


class EchelonAutoSchema(AutoSchema):
    """Adds 400/401/403/404 error responses (with the error body) where they can happen."""

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        codes = []
        if getattr(self.view, "permission_classes", None) and not self._allows_anonymous():
            codes.append("401")
        if self.method in ("POST", "PUT", "PATCH") or self._has_filters():
            codes.append("400")
        if self._is_detail():
            codes += ["403", "404"] if self.method != "GET" else ["404"]
        for code in codes:
            if code not in responses:
                responses[code] = self._get_response_for_code(ErrorSerializer, code, direction=direction)
                responses[code]["description"] = ERROR_DESCRIPTIONS[code]
        return responses

    def _allows_anonymous(self) -> bool:
        from rest_framework.permissions import AllowAny

        return any(p is AllowAny for p in self.view.permission_classes)

    def _has_filters(self) -> bool:
        return self.method == "GET" and bool(getattr(self.view, "filterset_class", None))

    def _is_detail(self) -> bool:
        return "{" in self.path
