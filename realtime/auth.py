"""Who a websocket is: the REST API's JWT access tokens, verified by the one verifier
(`echelon.auth.tokens.verified_access_token`).

A socket's identity holds what the fan-out needs in memory: user id, superuser flag, the ids
of its teams (loaded once at connect, then kept current by user_roles changes on the bus)
and the token's expiry.

A token is verified whole (signature, expiry, an active user) at the upgrade, at every
`phx_join` (the token it carries, or the socket's) and at every `access_token` message, so a
socket never acts on an expired token or for a user deactivated since (docs/realtime.md).

The anon key (`echelon.auth.tokens.anon_key`, what supabase-js puts in the socket URL) makes an
anonymous identity: the socket may join, and receives nothing, as the policies give anonymous
users nothing; a user's access token in a join or an `access_token` message makes it that
user's (docs/supabase.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from accounts.models import UserRole
from echelon.auth.tokens import InactiveTokenUser, InvalidAccessToken, is_anon_key, verified_access_token


class AuthError(Exception):
    """The token is missing, malformed, expired or names no active user."""


class InactiveUser(AuthError):
    """The token is valid but its user is deactivated or deleted: the socket must close."""

    def __init__(self, user_id: str):
        super().__init__("token user not found or inactive")
        self.user_id = user_id


@dataclass
class Identity:
    user_id: str
    is_superuser: bool
    team_ids: set = field(default_factory=set)
    expires_at: float | None = None
    anonymous: bool = False  # the anon key: no user, no rows


def anonymous_identity() -> Identity:
    """The identity of a socket that showed the anon key: no user, no teams."""
    return Identity(user_id=None, is_superuser=False, anonymous=True)


def user_from_token(token: str | None):
    """The active user of a valid access token and its `exp` (the one verifier,
    `echelon.auth.tokens.verified_access_token`); AuthError otherwise (sync: queries the DB)."""
    if not token:
        raise AuthError("missing access token (apikey)")
    try:
        return verified_access_token(token)
    except InactiveTokenUser as exc:
        raise InactiveUser(exc.user_id) from None
    except InvalidAccessToken as exc:
        raise AuthError(str(exc)) from None


def identity_from_token(token: str | None) -> Identity:
    """Verify `token` and load the socket's identity (two queries; none for the anon key)."""
    if is_anon_key(token):
        return anonymous_identity()
    return identity_for(*user_from_token(token))


def identity_for(user, exp) -> Identity:
    """The identity of a verified token's user (one query: the user's teams)."""
    teams = UserRole.objects.filter(user_id=user.pk, team_id__isnull=False).values_list("team_id", flat=True)
    return Identity(
        user_id=str(user.pk), is_superuser=bool(user.is_superuser), team_ids={str(t) for t in teams},
        expires_at=float(exp) if exp is not None else None,
    )
