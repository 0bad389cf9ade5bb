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


@pytest.fixture
def queue_worker(transactional_db):
    """Run the task queue's real worker (procrastinate, in this process) until no job is left.

    Needs committed rows (the worker has its own connection), hence `transactional_db`. The
    queue starts empty (jobs other servers' periodic deferrers left in the test database are
    dropped) and the periodic deferrer is left out, so that only the jobs this test queued run."""
    from django.db import connection
    from procrastinate.contrib.django import app

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE procrastinate_jobs, procrastinate_periodic_defers CASCADE")

    def run(**options) -> None:
        periodic, app.periodic_registry.periodic_tasks = app.periodic_registry.periodic_tasks, {}
        try:
            with app.replace_connector(app.connector.get_worker_connector()):
                app.run_worker(wait=False, install_signal_handlers=False, listen_notify=False, **options)
        finally:
            app.periodic_registry.periodic_tasks = periodic

    return run
