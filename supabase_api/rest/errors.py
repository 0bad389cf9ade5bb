"""PostgREST's error shape `{code, details, hint, message}` and its status mapping.

Status by code, as PostgREST answers: PGRST1xx parse/request errors 400 (PGRST103 416, PGRST106
and PGRST116 406, PGRST107 415), PGRST2xx schema-cache errors 400 (PGRST201 300, PGRST205 404),
PostgreSQL codes: 23505/23503 → 409, 42501 → 401 anonymous / 403 signed in, class 22 and
23502/23514 → 400, 42703/42883 → 400 (PostgREST answers 42883 with 404; a bad operator here is
a bad request, never "not found").
"""

from __future__ import annotations

import orjson
from django.http import HttpResponse


class RestError(Exception):
    """A refusal in PostgREST's shape. `status` defaults from the code (see module docstring)."""

    def __init__(self, code: str, message: str, *, details=None, hint=None, status: int | None = None):
        super().__init__(message)
        self.code, self.message, self.details, self.hint = code, message, details, hint
        self.status = status if status is not None else status_for(code)

    def body(self) -> dict:
        return {"code": self.code, "details": self.details, "hint": self.hint, "message": self.message}

    def response(self) -> HttpResponse:
        return HttpResponse(orjson.dumps(self.body()), status=self.status,
                            content_type="application/json; charset=utf-8")


_STATUS = {
    "PGRST103": 416, "PGRST106": 406, "PGRST107": 415, "PGRST116": 406, "PGRST117": 405,
    "PGRST201": 300, "PGRST205": 404, "PGRST301": 401, "PGRST303": 401,
    "23505": 409, "23503": 409, "P0001": 409, "42501": 403,
}


def status_for(code: str) -> int:
    return _STATUS.get(code, 400)


def parse_error(what: str, text: str, details: str | None = None) -> RestError:
    """PGRST100: a query parameter the grammar cannot read."""
    shown = text if len(text) <= 200 else text[:200] + "…"
    return RestError("PGRST100", f"failed to parse {what} ({shown})", details=details)


def not_served(what: str, hint: str | None = None) -> RestError:
    """Grammar PostgREST has and Echelon does not serve: a 400 that names it."""
    return RestError("PGRST100", f"{what} is not served by Echelon's /rest/v1", details=what,
                     hint=hint or "See docs/supabase.md, \"What is not served\".")


def no_column(table: str, column: str) -> RestError:
    """An unknown column, or one no reader kind of this user sees: it does not exist for them."""
    return RestError("42703", f"column {table}.{column} does not exist")


def permission_denied(anonymous: bool, message: str, hint: str | None = None) -> RestError:
    return RestError("42501", message, hint=hint, status=401 if anonymous else 403)
