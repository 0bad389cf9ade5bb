"""Domain errors raised by services; the API's one exception handler answers them.

Services do not know about HTTP: they raise a `DomainError` whose `kind` says what went wrong
(`invalid`, `conflict`, ...), with the offending input in `field` and machine-readable facts
beside the message. `echelon.api.exceptions.api_exception_handler` turns the kind into a status
(`STATUS_OF_KIND`) and the error into the API's shared JSON shape, so no view catches them.
"""

from __future__ import annotations

# kind → HTTP status (also the error body's `code`, DRF's default codes where there is one).
STATUS_OF_KIND = {
    "invalid": 400,
    "authentication_failed": 401,
    "permission_denied": 403,
    "not_found": 404,
    "conflict": 409,
    "too_large": 413,
    "throttled": 429,
    "bad_gateway": 502,
}
KIND_OF_STATUS = {status: kind for kind, status in STATUS_OF_KIND.items()}


class DomainError(Exception):
    """A service refused; `field` names the offending input, `facts` go beside the message."""

    kind = "invalid"
    field: str | None = None
    retry_after: int | None = None  # seconds, for a `throttled` refusal

    def __init__(self, message: str, *, field: str | None = None, **facts):
        super().__init__(message)
        self.message = message
        if field is not None:
            self.field = field
        self.facts = facts


class Conflict(DomainError):
    """The operation is valid in itself but not in the current state (e.g. last admin leaving)."""

    kind = "conflict"


class UpstreamFailed(DomainError):
    """A service Echelon depends on (n8n) refused or did not answer."""

    kind = "bad_gateway"
