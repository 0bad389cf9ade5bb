"""API clients that call `/rest/v1` and `/auth/v1` as supabase-js does: `apikey: <anon key>` on
every request, `Authorization: Bearer <the user's access token>` once signed in (else the anon key)."""

from __future__ import annotations

from rest_framework.test import APIClient

from echelon.auth.tokens import access_token_for, anon_key


def supabase_client(user=None, *, key: str | None = None, token: str | None = None) -> APIClient:
    """A client carrying the anon key (`key=""`: none) and `user`'s access token (or `token`)."""
    key = anon_key() if key is None else key
    client = APIClient()
    headers = {"HTTP_APIKEY": key} if key else {}
    bearer = token or (access_token_for(user) if user is not None else key)
    if bearer:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {bearer}"
    client.credentials(**headers)
    return client
