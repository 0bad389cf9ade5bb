"""Short-lived access tokens that let a signed-in page open the realtime websocket.

The same JWT the REST API issues (`sub`, `role`, `exp`), made without a refresh token: a page
renews it through `POST /web/realtime-token/` (session + CSRF) instead, so no outstanding
refresh token is recorded for every page view.
"""

from __future__ import annotations

from rest_framework_simplejwt.tokens import AccessToken

from echelon.auth.tokens import ROLE


def realtime_token_for(user) -> tuple[str, int]:
    """(token, expiry as Unix seconds) for `user`."""
    token = AccessToken.for_user(user)
    token["role"] = ROLE
    return str(token), int(token["exp"])
