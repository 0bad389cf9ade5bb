"""Redis stopped under a running Echelon (REDIS_URL → a redis-server the test stops and starts).

The REST API keeps answering: the rate limiter (the only cache user on the request path) falls
back to a process-local count with a logged warning, still enforcing the quota per process, and
goes back to the shared Redis count once Redis answers again.
"""

from __future__ import annotations

import json
import time

import httpx
import pytest
import redis

from tests import factories
from tests.hardening.servers import RedisProcess
from tests.monitoring.servers import DaphneServer, bearer

pytestmark = pytest.mark.django_db(transaction=True)

QUOTA = 8
WINDOW = 1_000_000  # one window for the whole test: no rollover resets the counts


def shared_count(process: RedisProcess, user) -> int | None:
    client = redis.Redis(unix_socket_path=str(process.socket))
    try:
        keys = client.keys(f"*ratelimit:user:{user.pk}:*")
        return int(client.get(keys[0])) if keys else None
    finally:
        client.close()


def test_rest_keeps_working_without_redis_and_uses_it_again_when_back(redis_process):
    user = factories.UserFactory(subscription_tier="free")
    limits = {tier: {"requests": QUOTA, "window_seconds": WINDOW} for tier in ("anonymous", "free", "pro", "enterprise")}
    server = DaphneServer(REDIS_URL=redis_process.url, ECHELON_RATE_LIMITS=json.dumps(limits), LOG_LEVEL="WARNING")
    try:
        with httpx.Client(base_url=server.url, headers=bearer(user), timeout=30) as http:
            def get() -> int:
                return http.get("/api/v1/agents/").status_code

            assert [get() for _ in range(3)] == [200] * 3
            assert shared_count(redis_process, user) == 3

            redis_process.stop()
            # Counted in the process now, from zero: the quota still holds, per process.
            answers = [get() for _ in range(QUOTA + 1)]
            assert answers == [200] * QUOTA + [429], answers
            assert server.process.poll() is None

            redis_process.start()  # empty, like a Redis restarted without persistence
            deadline = time.monotonic() + 20
            while shared_count(redis_process, user) is None and time.monotonic() < deadline:
                time.sleep(0.5)
                assert get() in (200, 429)
            assert shared_count(redis_process, user) is not None, "the throttle never went back to Redis"
            before = shared_count(redis_process, user)
            assert get() == 200
            assert shared_count(redis_process, user) == before + 1
        assert server.stop() == 0, server.output()
    finally:
        server.kill()
    output = server.output()
    assert "rate limits: shared cache unavailable" in output, output
    assert "Internal Server Error" not in output and "Traceback" not in output, output
