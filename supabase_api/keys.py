"""Who calls `/auth/v1` and `/rest/v1`: the `apikey` names the project, the bearer the user.

supabase-js sends `apikey: <anon key>` on every request and `Authorization: Bearer <token>`: the
anon key itself until sign-in, then the user's access token. So a request needs a valid anon
key (else 401, as Supabase's gateway answers) and is anonymous unless its bearer is a valid
access token (`echelon.auth.tokens.user_from_access_token`: signature, expiry, an active user).
Anonymous callers read what the policies give anonymous users: nothing today.
"""

from __future__ import annotations

from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed

from echelon.auth.tokens import InvalidAccessToken, is_anon_key, user_from_access_token


class ApiKeyError(AuthenticationFailed):
    """No anon key, or not this project's: answered in the gateway's shape `{message, hint}`."""

    def __init__(self, message: str, hint: str):
        super().__init__(message)
        self.message, self.hint = message, hint


class BadJwt(AuthenticationFailed):
    """The bearer is no valid access token (malformed, badly signed, expired, user gone)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason
        self.expired = "expired" in reason.lower()


def bearer_token(request) -> str | None:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, token = header.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


class SupabaseKeyAuthentication(BaseAuthentication):
    """DRF authentication of the Supabase-compatible views (see the module docstring)."""

    def authenticate(self, request):
        key = request.META.get("HTTP_APIKEY") or request.GET.get("apikey")
        if not key:
            raise ApiKeyError("No API key found in request", "No `apikey` request header or url param was found.")
        if not is_anon_key(key):
            raise ApiKeyError("Invalid API key", "Double check your Supabase `anon` API key.")
        token = bearer_token(request)
        if token is None or token == key or is_anon_key(token):
            return None  # anonymous
        try:
            return user_from_access_token(token), token
        except InvalidAccessToken as exc:
            raise BadJwt(str(exc)) from None

    def authenticate_header(self, request):
        return 'Bearer realm="echelon"'
