"""Fixtures of the fault tests: a redis-server the test may stop and start."""

from __future__ import annotations

import pytest

from tests.hardening.servers import RedisProcess


@pytest.fixture
def redis_process():
    """A running redis-server on a private unix socket (REDIS_URL = `redis_process.url`)."""
    process = RedisProcess()
    process.start()
    yield process
    process.destroy()
