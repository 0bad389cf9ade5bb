"""JWTs: the one minter and the one verifier of access tokens (REST, /auth/v1, /rest/v1, the
realtime websocket and the web pages' socket token all use these).

Access tokens carry `sub` (the user id as a string uuid), `role` = "authenticated" (the
Supabase convention, so one token serves the API and the socket), `exp`, `iat`, `jti` and
`token_type`. They are signed with `SIMPLE_JWT["SIGNING_KEY"]`.

The anon key (Supabase's `anon` API key) is signed the same way: `role` = "anon", no user,
`token_type` = "anon", so no access-token check ever takes it for a user. It names the
project, not a caller: the same key for every process with the same signing key (fixed
claims), valid for `ANON_KEY_YEARS`; a new signing key makes a new one.
"""

from __future__ import annotations

import functools
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken, Token

from echelon.db.sqlmemo import instances_by
from realtime.table_versions import VersionedCache

ROLE = "authenticated"
ANON_ROLE = "anon"
ANON_KEY_ISSUED_AT = 1767225600  # 2026-01-01T00:00:00Z: fixed, so the key is one string
ANON_KEY_YEARS = 20
USER_ROWS_KEPT = 10_000  # users whose row a process keeps (token_user), the oldest go first


class InvalidAccessToken(Exception):
    """The token is malformed, badly signed, expired, not an access token, or its user is gone."""


class InactiveTokenUser(InvalidAccessToken):
    """A valid token whose user is deactivated or deleted (a socket of theirs must close)."""

    def __init__(self, user_id: str):
        super().__init__("token user not found or inactive")
        self.user_id = user_id


def refresh_token_for(user) -> RefreshToken:
    """A refresh token for `user` (its `.access_token` inherits the `role` claim)."""
    token = RefreshToken.for_user(user)
    token["role"] = ROLE
    return token


def access_token_with_expiry(user) -> tuple[str, int]:
    """(a signed access token for `user`, its expiry as Unix seconds), without a refresh token
    (no outstanding refresh token is recorded: the web pages' socket token is renewed by session)."""
    token = AccessToken.for_user(user)
    token["role"] = ROLE
    return str(token), int(token["exp"])


def access_token_for(user) -> str:
    """A signed access token for `user`, as a string."""
    return access_token_with_expiry(user)[0]


@functools.cache
def _user_rows() -> VersionedCache:
    return VersionedCache((get_user_model()._meta.db_table,), max_entries=USER_ROWS_KEPT)


def token_user(user_id):
    """The user a token's `sub` names, or None. Its row is kept by this process until the users
    table changes (`realtime.table_versions`: any committed write to it, by any writer, drops
    what was kept, so a deactivated account stops working as soon as PostgreSQL says so);
    otherwise one query whose SQL is compiled once per process (every authenticated request
    asks: the lookup was the largest part of a page request's work beyond the page query).
    A `sub` that is no user id raises what the ORM raises (ValidationError, ...)."""
    User = get_user_model()
    field = User._meta.get_field(api_settings.USER_ID_FIELD)
    value = field.to_python(user_id)
    if value is None or not field.unique:
        return User.objects.filter(**{field.name: value}).first()
    found = instances_by(("token_user", field.name), (value,), lambda: User.objects.filter(**{field.name: value}),
                         rows_cache=_user_rows())
    return found[0] if found else None


def verified_access_token(token: str | None):
    """(the active user, the token's `exp`) of a valid access token; `InvalidAccessToken`
    otherwise (`InactiveTokenUser` when the token is fine but its user is not).

    The user row is asked for (or kept until the users table changes: `token_user`), so a
    deactivated account stops working as soon as its change is committed.
    """
    if not token or not isinstance(token, str):
        raise InvalidAccessToken("missing access token")
    try:
        validated = AccessToken(token)
    except TokenError as exc:
        raise InvalidAccessToken(str(exc)) from exc
    user_id = validated.get(api_settings.USER_ID_CLAIM)
    if not user_id:
        raise InvalidAccessToken("token names no user")
    try:
        user = token_user(user_id)
    except (ValueError, TypeError, ValidationError):  # a `sub` that is no user id at all
        raise InvalidAccessToken("token names no user") from None
    if user is None or not user.is_active:
        raise InactiveTokenUser(str(user_id))
    return user, validated.get("exp")


def user_from_access_token(token: str):
    """The active user named by a valid access token; `InvalidAccessToken` otherwise."""
    return verified_access_token(token)[0]


class AnonKey(Token):
    """The anon key's token class: its own `token_type`, so it is no access or refresh token."""

    token_type = "anon"
    lifetime = timedelta(days=365 * ANON_KEY_YEARS)


def anon_key() -> str:
    """The project's anon key (a JWT with `role: "anon"`, signed like the access tokens)."""
    key = AnonKey()
    key.payload = {
        api_settings.TOKEN_TYPE_CLAIM: AnonKey.token_type, api_settings.JTI_CLAIM: "anon",
        "iss": "echelon", "role": ANON_ROLE, "iat": ANON_KEY_ISSUED_AT,
        "exp": ANON_KEY_ISSUED_AT + int(AnonKey.lifetime.total_seconds()),
    }
    return str(key)


def is_anon_key(token) -> bool:
    """True when `token` is an anon key signed with this project's key and not expired."""
    if not isinstance(token, str) or not token:
        return False
    try:
        return AnonKey(token).get("role") == ANON_ROLE
    except TokenError:
        return False
