"""Shared pytest fixtures. Opt-in suites (marker `n8n_live`) are deselected, not skipped,
unless their environment is configured, so they are never counted as passing."""

from __future__ import annotations

import os

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from tests import factories

# The test process itself connects without the psycopg pool: the concurrency tests hold 30-50
# connections at once from threads on purpose, which a bounded pool would queue (and time out).
# Servers the tests start run the default (pooled) mode. Done before the first connection.
settings.DATABASES["default"].get("OPTIONS", {}).pop("pool", None)
settings.DATABASES["default"]["CONN_MAX_AGE"] = 60


def pytest_collection_modifyitems(config, items):
    if os.environ.get("N8N_LIVE") == "1":
        return
    opt_in = [item for item in items if item.get_closest_marker("n8n_live")]
    if opt_in:
        config.hook.pytest_deselected(items=opt_in)
        items[:] = [item for item in items if not item.get_closest_marker("n8n_live")]
        config._echelon_deselected_live = len(opt_in)


def pytest_terminal_summary(terminalreporter, config):
    count = getattr(config, "_echelon_deselected_live", 0)
    if count:
        terminalreporter.write_line(
            f"{count} opt-in n8n_live tests were not run (set N8N_LIVE=1 with a real n8n; see README)."
        )


@pytest.fixture(autouse=True)
def fast_password_hasher(settings):
    """Factories hash a password per user; PBKDF2 at production strength costs ~0.4 s each here."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def user(db):
    return factories.UserFactory()


@pytest.fixture
def superuser(db):
    return factories.UserFactory(is_staff=True, is_superuser=True)


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture
def client_for():
    """`client_for(user)` → an APIClient authenticated as `user` (None: anonymous)."""

    def make(user):
        client = APIClient()
        if user is not None:
            client.force_authenticate(user)
        return client

    return make


@pytest.fixture(autouse=True)
def _isolated_metering_and_rate_limits(settings):
    """API usage rows are buffered in-process: each test starts with an empty buffer and no
    background flusher (tests call `monitoring.metering.flush()`, which writes inside the test's
    transaction). Rate-limit counters live in the cache: the local-memory cache is cleared so
    one test's requests never count against another's quota (a shared Redis is left alone)."""
    from django.core.cache import caches
    from django.core.cache.backends.locmem import LocMemCache

    from monitoring.metering import recorder

    settings.ECHELON_METERING_BACKGROUND = False
    recorder.discard()
    if isinstance(caches["default"], LocMemCache):
        caches["default"].clear()
    yield
    recorder.discard()
