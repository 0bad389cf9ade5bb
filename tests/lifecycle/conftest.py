"""Fixtures of the lifecycle tests: a fake n8n server and settings pointing at it."""

from __future__ import annotations

import pytest

from tests.lifecycle.fake_n8n import API_KEY, FakeN8n
from workflows.n8n.client import N8nClient


@pytest.fixture
def fake_n8n(httpserver):
    """The fake n8n, loaded with the recorded executions and workflows."""
    return FakeN8n().load_recordings().install(httpserver)


@pytest.fixture
def n8n_url(httpserver):
    return httpserver.url_for("/").rstrip("/")


@pytest.fixture
def n8n_settings(settings, fake_n8n, n8n_url):
    """Point N8N_BASE_URL / N8N_API_KEY at the fake (the n8n backend is used from here on)."""
    settings.N8N_BASE_URL, settings.N8N_API_KEY = n8n_url, API_KEY
    return settings


@pytest.fixture
def n8n_client(fake_n8n, n8n_url):
    sleeps: list[float] = []
    client = N8nClient(n8n_url, API_KEY, sleep=sleeps.append, backoff=0.01)
    client.sleeps = sleeps
    yield client
    client.close()
