"""API clients of the tests: one carrying a user's real JWT, and the rows of a list answer."""

from __future__ import annotations

from rest_framework.test import APIClient

from echelon.auth.tokens import access_token_for


def client_as(user) -> APIClient:
    """An API client carrying `user`'s JWT access token (anonymous for None)."""
    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {access_token_for(user)}")
    return client


def results(response) -> list[dict]:
    """The rows of a list response (paginated or not)."""
    body = response.json()
    return body["results"] if isinstance(body, dict) and "results" in body else body
