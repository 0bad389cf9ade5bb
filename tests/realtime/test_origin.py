"""The websocket's Origin check (realtime/origin.py) through the served ASGI application."""

from __future__ import annotations

import pytest

from tests import factories
from tests.realtime.helpers import Client, run, token_for

pytestmark = pytest.mark.django_db(transaction=True)


def connects(user, origin: str | None) -> bool:
    headers = [] if origin is None else [(b"origin", origin.encode())]

    async def attempt():
        client = Client(token_for(user), headers=headers)
        accepted, _ = await client.connect()
        await client.close()
        return accepted

    return run(attempt)


def test_a_page_of_another_site_cannot_open_a_socket(settings):
    settings.ALLOWED_HOSTS = ["echelon.example"]
    settings.CORS_ALLOWED_ORIGINS = []
    assert not connects(factories.UserFactory(), "https://evil.example")


def test_the_own_host_and_cors_origins_are_accepted(settings):
    settings.ALLOWED_HOSTS = ["echelon.example"]
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example"]
    user = factories.UserFactory()
    assert connects(user, "https://echelon.example")
    assert connects(user, "https://app.example")
    assert not connects(user, "https://app.example:8443")  # an origin is scheme, host and port


def test_clients_without_origin_authenticate_by_token(settings):
    settings.ALLOWED_HOSTS = ["echelon.example"]
    assert connects(factories.UserFactory(), None)  # the Supabase Node client sends no Origin
