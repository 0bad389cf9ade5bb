"""GoTrue's error bodies, with its `X-Supabase-Api-Version` rule.

A request whose `X-Supabase-Api-Version` is a date on or after 2024-01-01 (supabase-js sends
2024-01-01) gets the header echoed and `{"code": "<error code>", "message": ...}`; any other
request gets the initial shape `{"code": <status>, "error_code": ..., "msg": ...}`. supabase-js
reads either (auth-js lib/fetch.ts).
"""

from __future__ import annotations

from datetime import date

import orjson
from django.http import HttpResponse

API_VERSION_HEADER = "X-Supabase-Api-Version"
API_VERSION_2024 = date(2024, 1, 1)


def api_version(request) -> date | None:
    """The closest API version the request asks for (None: the initial one)."""
    text = request.META.get("HTTP_X_SUPABASE_API_VERSION", "")
    try:
        asked = date.fromisoformat(text.strip())
    except ValueError:
        return None
    return API_VERSION_2024 if asked >= API_VERSION_2024 else None


class AuthApiError(Exception):
    def __init__(self, status: int, code: str, message: str, **extra):
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra

    def response(self, request) -> HttpResponse:
        version = api_version(request)
        if version is not None:
            body = {"code": self.code, "message": self.message, **self.extra}
        else:
            body = {"code": self.status, "error_code": self.code, "msg": self.message, **self.extra}
        response = HttpResponse(orjson.dumps(body), status=self.status, content_type="application/json")
        if version is not None:
            response[API_VERSION_HEADER] = version.isoformat()
        return response


def invalid_credentials() -> AuthApiError:
    return AuthApiError(400, "invalid_credentials", "Invalid login credentials")


def validation_failed(message: str) -> AuthApiError:
    return AuthApiError(400, "validation_failed", message)
