"""JWT helpers shared by the REST API and the realtime websocket.

Access tokens carry `sub` (the user id as a string uuid), `role` = "authenticated" (the
Supabase convention, so one token serves the API and the socket), `exp`, `iat`, `jti` and
`token_type`. They are signed with `SIMPLE_JWT["SIGNING_KEY"]`.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

ROLE = "authenticated"


class InvalidAccessToken(Exception):
    """The token is malformed, badly signed, expired, not an access token, or its user is gone."""


def refresh_token_for(user) -> RefreshToken:
    """A refresh token for `user` (its `.access_token` inherits the `role` claim)."""
    token = RefreshToken.for_user(user)
    token["role"] = ROLE
    return token


def access_token_for(user) -> str:
    """A signed access token for `user`, as a string."""
    return str(refresh_token_for(user).access_token)


def user_from_access_token(token: str):
    """The active user named by a valid access token; `InvalidAccessToken` otherwise.

    One query (the user row), so a deactivated account stops working at once.
    """
    try:
        validated = AccessToken(token)
    except TokenError as exc:
        raise InvalidAccessToken(str(exc)) from exc
    user_id = validated.get(api_settings.USER_ID_CLAIM)
    if user_id is None:
        raise InvalidAccessToken("Token has no user claim")
    User = get_user_model()
    try:
        user = User.objects.get(**{api_settings.USER_ID_FIELD: user_id})
    except (User.DoesNotExist, ValueError, TypeError):
        raise InvalidAccessToken("Token user not found") from None
    except Exception as exc:  # a malformed id in a validly signed token (ValidationError)
        raise InvalidAccessToken("Token user not found") from exc
    if not user.is_active:
        raise InvalidAccessToken("User is inactive")
    return user
