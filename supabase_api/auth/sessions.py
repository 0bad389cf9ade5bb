"""GoTrue sessions on the API's own tokens: simplejwt refresh tokens and their blacklist.

A session is the chain of refresh tokens that rotate from one sign-in. Its id (`session_id`) is
the jti of the sign-in's refresh token; every token of the chain carries it, and so does every
access token minted from them (with `aud`, `email`, `role` — GoTrue's claims, beside
simplejwt's `sub`, `exp`, `iat`, `jti`). Refreshing is `/api/v1`'s rotation
(`TokenRefreshSerializer`: the old refresh token blacklisted, a new one outstanding); signing out
blacklists the session's outstanding refresh tokens (`local`), every one of the user's (`global`,
`/api/v1` logins too), or all but this session's (`others`). Access tokens stay valid until they
expire (15 minutes), as for `/api/v1` and as PostgREST treats GoTrue's JWTs.
"""

from __future__ import annotations

import base64
import time

import orjson
from django.contrib.auth import get_user_model
from django.utils import timezone
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.serializers import TokenRefreshSerializer
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import AccessToken

from echelon.auth.tokens import refresh_token_for
from supabase_api.auth.errors import AuthApiError
from supabase_api.auth.users import user_object

AUDIENCE = "authenticated"
SCOPES = ("global", "local", "others")


def session_body(user, access: str, refresh: str) -> dict:
    """GoTrue's session object."""
    expires_at = int(AccessToken(access, verify=False)["exp"])
    return {"access_token": access, "token_type": "bearer", "expires_in": max(0, expires_at - int(time.time())),
            "expires_at": expires_at, "refresh_token": refresh, "user": user_object(user)}


def sign_in(user) -> dict:
    """A new session for `user` (one refresh token outstanding)."""
    refresh = refresh_token_for(user)
    refresh["aud"], refresh["email"], refresh["is_anonymous"] = AUDIENCE, user.email, False
    refresh["session_id"] = refresh["jti"]
    # the outstanding row keeps the token as minted: with its session, so sign-out finds it
    OutstandingToken.objects.filter(jti=refresh["jti"]).update(token=str(refresh))
    return session_body(user, str(refresh.access_token), str(refresh))


def refresh(token: str) -> dict:
    """The session's next pair (`/api/v1`'s rotation); GoTrue's errors for a bad token."""
    if not isinstance(token, str) or not token:
        raise AuthApiError(400, "validation_failed", "refresh_token required")
    serializer = TokenRefreshSerializer(data={"refresh": token})
    try:
        serializer.is_valid(raise_exception=True)
    except TokenError as exc:
        if "blacklisted" in str(exc).lower():
            raise AuthApiError(400, "refresh_token_already_used", "Invalid Refresh Token: Already Used") from None
        raise AuthApiError(400, "refresh_token_not_found", "Invalid Refresh Token: Refresh Token Not Found") from None
    except AuthenticationFailed:
        raise AuthApiError(400, "user_banned", "User is banned") from None
    except get_user_model().DoesNotExist:
        raise AuthApiError(400, "refresh_token_not_found", "Invalid Refresh Token: Refresh Token Not Found") from None
    data = serializer.validated_data
    user = get_user_model().objects.get(pk=AccessToken(data["access"], verify=False)["sub"])
    return session_body(user, data["access"], data["refresh"])


def claims_of(token_text: str) -> dict:
    """The payload of one of our own stored tokens (already verified when it was minted)."""
    try:
        payload = token_text.split(".")[1]
        return orjson.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return {}


def sign_out(user, session_id: str | None, scope: str) -> int:
    """Blacklist the refresh tokens `scope` names; how many."""
    outstanding = OutstandingToken.objects.filter(user=user, expires_at__gt=timezone.now(),
                                                  blacklistedtoken__isnull=True)
    revoked = 0
    for row in outstanding:
        sid = claims_of(row.token).get("session_id")
        if scope == "global" or (scope == "local" and session_id and sid == session_id) or (
                scope == "others" and sid != session_id):
            BlacklistedToken.objects.get_or_create(token=row)
            revoked += 1
    return revoked
